"""The real AutoGen engine with scripted models: debate turns and verdict, coding rounds in
the sandbox, checkpoints and usage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings

DEBATERS = {
    "proposer": {"role": "Proposer", "goal": "Argue yes", "backstory": "Bold."},
    "critic": {"role": "Critic", "goal": "Argue no", "backstory": "Careful."},
    "judge": {"role": "Judge", "goal": "Decide", "backstory": "Fair."},
}


def speaker_script(messages: list[dict[str, Any]]) -> str:
    role = messages[0]["content"].split(".")[0].removeprefix("You are ")
    return f"{role} speaks after {len(messages) - 1} messages"


def dispatcher_for(settings: Settings, script: Any) -> tuple[Dispatcher, Any]:
    gateway = Gateway(ModelTable.load(settings.models_file))
    handle = gateway.register_script("main", script)
    return Dispatcher(settings, gateway=gateway), handle


def test_debate_runs_exactly_the_rounds_then_the_judge(settings: Settings, make_crew: Any) -> None:
    make_crew(
        "debate",
        crew={"process": "debate", "inputs": {"question": {}}, "engine_options": {"rounds": 2}},
        agents=DEBATERS,
        tasks={
            "decide": {
                "description": "Debate: {question}",
                "expected_output": "A verdict",
                "output_file": "verdict.md",
            }
        },
    )
    dispatcher, script = dispatcher_for(settings, speaker_script)
    result = dispatcher.run(load_crew("debate", settings.crews_dir), {"question": "Tea?"})

    speakers = [json.dumps(c[0]).split(".")[0].split("You are ")[1] for c in script.calls]
    assert speakers == ["Proposer", "Critic", "Proposer", "Critic", "Judge"]
    assert "Debate: Tea?" in json.dumps(script.calls[0])
    judge_prompt = json.dumps(script.calls[-1])
    assert "Critic speaks after" in judge_prompt and "verdict" in judge_prompt
    assert result.engine == "autogen" and result.output.startswith("Judge speaks")
    assert (Path(result.output_dir or "") / "verdict.md").read_text() == result.output
    store = RunStore(settings.runs_db)
    turns = store.turns(result.run_id)
    assert [agent for _, agent, _ in turns] == ["proposer", "critic", "proposer", "critic", "judge"]
    assert [c.task for c in store.checkpoints(result.run_id)] == ["decide"]
    assert result.usage["calls"] == 5
    assert {c["agent"] for c in store.model_calls(result.run_id)} == set(DEBATERS)


CODING = {
    "crew": {
        "process": "coding",
        "inputs": {"spec": {}},
        "engine_options": {"max_rounds": 3, "timeout_s": 2, "tests": "assert solve(2) == 4"},
    },
    "agents": {"coder": {"role": "Coder", "goal": "Write code", "backstory": "Python."}},
    "tasks": {
        "program": {
            "description": "Write: {spec}",
            "expected_output": "Code",
            "output_file": "solution.py",
        }
    },
}


def test_coding_retries_until_the_tests_pass(settings: Settings, make_crew: Any) -> None:
    make_crew("coding", **CODING)
    replies = [
        "```python\ndef solve(x):\n    return x + 1\n```",
        "```python\ndef solve(x):\n    return x * 2\n```",
    ]
    dispatcher, script = dispatcher_for(settings, replies)
    result = dispatcher.run(load_crew("coding", settings.crews_dir), {"spec": "double"})

    assert script.unused == 0
    second_prompt = json.dumps(script.calls[1])
    assert "AssertionError" in second_prompt  # the failure was fed back to the coder
    solution = Path(result.output_dir or "") / "solution.py"
    assert solution.read_text().strip() == "def solve(x):\n    return x * 2"
    assert result.output == solution.read_text()
    events = [k for k, _ in RunStore(settings.runs_db).events(result.run_id)]
    assert "code_saved" in events
    # only what the crew saves stays: the two rounds' scratch folders are gone
    assert sorted(p.name for p in Path(result.output_dir or "").iterdir()) == ["solution.py"]


def test_coding_keeps_each_rounds_scratch_when_asked(settings: Settings, make_crew: Any) -> None:
    options = {**CODING["crew"]["engine_options"], "keep_scratch": True}  # type: ignore[index]
    make_crew("coding", **{**CODING, "crew": {**CODING["crew"], "engine_options": options}})
    replies = [
        "```python\ndef solve(x):\n    return x + 1\n```",
        "```python\nopen('note.txt', 'w').write('kept')\ndef solve(x):\n    return x * 2\n```",
    ]
    dispatcher, _ = dispatcher_for(settings, replies)
    result = dispatcher.run(load_crew("coding", settings.crews_dir), {"spec": "double"})
    rounds = Path(result.output_dir or "") / "sandbox"
    assert sorted(p.name for p in rounds.iterdir()) == ["round-1", "round-2"]
    assert (rounds / "round-2" / "note.txt").read_text() == "kept"


def test_coding_endless_loop_is_stopped_and_reported(settings: Settings, make_crew: Any) -> None:
    make_crew(
        "coding",
        **{
            **CODING,
            "crew": {
                **CODING["crew"],
                "engine_options": {
                    "max_rounds": 1,
                    "timeout_s": 1,
                    "tests": "assert solve(2) == 4",
                },
            },
        },
    )
    dispatcher, _script = dispatcher_for(settings, ["```python\nwhile True:\n    pass\n```"])

    with pytest.raises(RunFailed, match="still fails after 1 execution") as info:
        dispatcher.run(load_crew("coding", settings.crews_dir), {"spec": "x"})

    turns = RunStore(settings.runs_db).turns(info.value.result.run_id)
    assert "[stopped: timeout]" in turns[-1][2]
    assert (Path(info.value.result.output_dir or "") / "solution.py").exists()


def test_selector_turn_order_constrains_the_model_and_falls_back(
    settings: Settings, make_crew: Any
) -> None:
    agents = {**DEBATERS, "analyst": {"role": "Analyst", "goal": "Weigh", "backstory": "Calm."}}
    make_crew(
        "debate",
        crew={
            "process": "debate",
            "inputs": {"question": {}},
            "engine_options": {
                "rounds": 1,
                "turn_order": "selector",
                "debaters": ["proposer", "critic", "analyst"],
            },
        },
        agents=agents,
        tasks={"decide": {"description": "Debate: {question}", "expected_output": "A verdict"}},
    )
    choices = iter(['{"speaker": "analyst"}', "no idea", '{"speaker": "critic"}'])
    formats: list[Any] = []

    def script(messages: list[dict[str, Any]]) -> str:
        if "Who should speak next?" in messages[-1]["content"]:
            formats.append(messages[-1]["content"])
            return next(choices)
        return speaker_script(messages)

    dispatcher, _handle = dispatcher_for(settings, script)
    result = dispatcher.run(load_crew("debate", settings.crews_dir), {"question": "Tea?"})

    store = RunStore(settings.runs_db)
    spoke = [agent for _, agent, _ in store.turns(result.run_id)]
    assert spoke == ["analyst", "proposer", "critic", "judge"]  # "no idea" → declared order
    picks = [d for k, d in store.events(result.run_id) if k == "speaker_selected"]
    assert [(p["speaker"], p["method"]) for p in picks] == [
        ("analyst", "model"),
        ("proposer", "declared order"),
        ("critic", "model"),
    ]
    # the last speaker is not offered again
    assert formats[1].startswith("Debaters: proposer, critic.")
