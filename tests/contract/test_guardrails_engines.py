"""Guardrails on the real engines with scripted models: a failed check is fed back into the
agent's next prompt, every attempt is in the run record, and spent retries fail the run with
every earlier task output kept."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.observe.progress import Progress
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS, MakeCrew, write_yaml

TITLE_REASON = "must_match: the output does not match the pattern '^# '"


def titled_crew(make_crew: MakeCrew, **write_keys: Any) -> None:
    """research → write; write must start with a Markdown title."""
    write = {**TWO_TASKS["write"], "guardrails": {"must_match": ["^# "]}, **write_keys}
    make_crew(
        "demo",
        crew={"inputs": TOPIC_INPUT},
        agents=TWO_AGENTS,
        tasks={"research": TWO_TASKS["research"], "write": write},
    )


def dispatcher_for(settings: Settings, **scripts: Any) -> tuple[Dispatcher, Gateway]:
    gateway = Gateway(ModelTable.load(settings.models_file))
    for name, replies in scripts.items():
        gateway.register_script(name, replies)
    return Dispatcher(settings, gateway=gateway), gateway


def guardrail_events(settings: Settings, run_id: str) -> list[tuple[str, dict[str, Any]]]:
    events = RunStore(settings.runs_db).events(run_id)
    return [(k, d) for k, d in events if k.startswith("guardrail_")]


def test_crewai_retries_with_the_reasons_in_the_next_prompt(
    settings: Settings, make_crew: MakeCrew
) -> None:
    titled_crew(make_crew)
    replies = [
        "Final Answer: - tides are predictable",
        "Final Answer: A report without a title.",
        "Final Answer: # Tidal power\nA report.",
    ]
    dispatcher, gateway = dispatcher_for(settings, main=replies)
    screen = io.StringIO()
    dispatcher.listeners.append(Progress(Console(file=screen, width=200)))

    result = dispatcher.run(load_crew("demo", settings.crews_dir), {"topic": "tides"})

    assert result.status == "done"
    assert result.output == "# Tidal power\nA report."
    assert "write failed must_match (attempt 1); trying again" in screen.getvalue()
    calls = gateway.scripts["main"].calls
    assert len(calls) == 3
    retry_prompt = json.dumps(calls[2])
    assert TITLE_REASON in retry_prompt
    assert "A report without a title." in retry_prompt  # CrewAI shows the failed attempt
    assert "tides are predictable" in retry_prompt  # and the research it reads is still there
    assert TITLE_REASON not in json.dumps(calls[1])
    events = guardrail_events(settings, result.run_id)
    assert [(k, d["task"], d["attempt"]) for k, d in events] == [
        ("guardrail_failed", "write", 1),
        ("guardrail_passed", "write", 2),
    ]
    failed = events[0][1]
    assert failed["checks"] == ["must_match"]
    assert failed["reasons"] == [TITLE_REASON]
    assert failed["output"] == "A report without a title."
    store = RunStore(settings.runs_db)
    assert [(c.task, c.output) for c in store.checkpoints(result.run_id)] == [
        ("research", "- tides are predictable"),
        ("write", "# Tidal power\nA report."),
    ]
    assert (Path(result.output_dir or "") / "report.md").read_text() == result.output


def test_spent_retries_fail_the_run_and_keep_earlier_outputs(
    settings: Settings, make_crew: MakeCrew
) -> None:
    titled_crew(make_crew, max_retries=1, guardrails={"must_match": ["^# "], "min_length": 20})
    replies = [
        "Final Answer: - a fact",
        "Final Answer: short",
        "Final Answer: a longer answer, still no title",
    ]
    dispatcher, gateway = dispatcher_for(settings, main=replies)

    with pytest.raises(RunFailed) as info:
        dispatcher.run(load_crew("demo", settings.crews_dir), {"topic": "tides"})

    failed = info.value.result
    message = str(info.value)
    assert failed.status == "failed"
    assert "task 'write' failed its guardrails after 2 attempt(s) (max_retries: 1)" in message
    assert "failed checks: min_length, must_match" in message
    assert "attempt 1: min_length: the output has 5 characters" in message
    assert "attempt 2: must_match" in message
    assert gateway.scripts["main"].unused == 0  # no third try
    assert [t.task for t in failed.task_outputs] == ["research"]
    store = RunStore(settings.runs_db)
    assert store.get(failed.run_id).status == "failed"
    assert [c.output for c in store.checkpoints(failed.run_id)] == ["- a fact"]
    events = guardrail_events(settings, failed.run_id)
    assert [(k, d["attempt"], d["retries_left"]) for k, d in events] == [
        ("guardrail_failed", 1, 1),
        ("guardrail_failed", 2, 0),
    ]
    assert events[1][1]["output"] == "a longer answer, still no title"


def test_llm_judge_through_the_gateway_with_crewai_keys(
    settings: Settings, make_crew: MakeCrew
) -> None:
    models = {"aliases": {"standard": {"model": "scripted/main"}, "judge": {"model": "scripted/j"}}}
    write_yaml(settings.models_file, models)
    write = {
        **TWO_TASKS["write"],
        "guardrail": "Every claim cites a source in [brackets].",  # CrewAI's key
        "guardrail_max_retries": 1,
        "guardrails": {"judge_model": "judge"},
    }
    make_crew(
        "demo",
        crew={"inputs": TOPIC_INPUT},
        agents=TWO_AGENTS,
        tasks={"research": TWO_TASKS["research"], "write": write},
    )
    verdicts = [
        '{"pass": false, "reasons": "the claim about cost cites no source"}',
        '```json\n{"pass": true, "reasons": "every claim is cited"}\n```',
    ]
    replies = ["Final Answer: - cheap", "Final Answer: It is cheap.", "Final Answer: Cheap [1]."]
    dispatcher, gateway = dispatcher_for(settings, main=replies, j=verdicts)

    result = dispatcher.run(load_crew("demo", settings.crews_dir), {"topic": "tides"})

    assert result.output == "Cheap [1]."
    first_judge = json.dumps(gateway.scripts["j"].calls[0])
    assert "Every claim cites a source in [brackets]." in first_judge
    assert "It is cheap." in first_judge and "Write a report on tides." in first_judge
    retry_prompt = json.dumps(gateway.scripts["main"].calls[2])
    assert "judge: the claim about cost cites no source" in retry_prompt
    calls = RunStore(settings.runs_db).model_calls(result.run_id)
    judged = [(c["agent"], c["task"], c["alias"]) for c in calls if c["agent"] == "guardrail_judge"]
    assert judged == [("guardrail_judge", "write", "judge")] * 2
    assert result.usage["calls"] == 5  # three agent calls, two judge calls
    events = guardrail_events(settings, result.run_id)
    assert [(k, d.get("checks")) for k, d in events] == [
        ("guardrail_failed", ["judge"]),
        ("guardrail_passed", ["judge"]),
    ]


DEBATERS = {
    "proposer": {"role": "Proposer", "goal": "Argue yes", "backstory": "Bold."},
    "critic": {"role": "Critic", "goal": "Argue no", "backstory": "Careful."},
    "judge": {"role": "Judge", "goal": "Decide", "backstory": "Fair."},
}


def test_autogen_debate_asks_the_judge_again_with_the_reasons(
    settings: Settings, make_crew: MakeCrew
) -> None:
    make_crew(
        "debate",
        crew={"process": "debate", "inputs": {"question": {}}, "engine_options": {"rounds": 1}},
        agents=DEBATERS,
        tasks={
            "decide": {
                "description": "Debate: {question}",
                "expected_output": "A verdict",
                "guardrails": {"must_match": ["^VERDICT: (yes|no)"]},
            }
        },
    )
    verdicts = iter(["I lean towards yes.", "VERDICT: yes, tea is fine."])

    def speak(messages: list[dict[str, Any]]) -> str:
        role = messages[0]["content"].split(".")[0].removeprefix("You are ")
        return next(verdicts) if role == "Judge" else f"{role} argues."

    dispatcher, gateway = dispatcher_for(settings, main=speak)
    result = dispatcher.run(load_crew("debate", settings.crews_dir), {"question": "Tea?"})

    assert result.output == "VERDICT: yes, tea is fine."
    calls = gateway.scripts["main"].calls
    assert len(calls) == 4  # proposer, critic, judge, judge again
    again = json.dumps(calls[3])
    assert "must_match: the output does not match the pattern" in again
    assert "I lean towards yes." in again  # the judge reads its own failed verdict
    assert "must_match" not in json.dumps(calls[2])
    store = RunStore(settings.runs_db)
    judge_turns = [text for _, agent, text in store.turns(result.run_id) if agent == "judge"]
    assert judge_turns == ["I lean towards yes.", "VERDICT: yes, tea is fine."]
    assert [c.output for c in store.checkpoints(result.run_id)] == [result.output]
    events = guardrail_events(settings, result.run_id)
    assert [(k, d["attempt"]) for k, d in events] == [
        ("guardrail_failed", 1),
        ("guardrail_passed", 2),
    ]


def test_autogen_coding_runs_the_team_again_when_the_final_code_fails_a_check(
    settings: Settings, make_crew: MakeCrew
) -> None:
    make_crew(
        "coding",
        crew={
            "process": "coding",
            "inputs": {"spec": {}},
            "engine_options": {"max_rounds": 2, "timeout_s": 5, "tests": "assert solve(2) == 4"},
        },
        agents={"coder": {"role": "Coder", "goal": "Write code", "backstory": "Python."}},
        tasks={
            "program": {
                "description": "Write: {spec}",
                "expected_output": "Code",
                "guardrails": {"must_not_match": [r"\bprint\("]},
            }
        },
    )
    replies = [
        "```python\ndef solve(x):\n    print(x)\n    return x * 2\n```",
        "```python\ndef solve(x):\n    return x * 2\n```",
    ]
    dispatcher, gateway = dispatcher_for(settings, main=replies)

    result = dispatcher.run(load_crew("coding", settings.crews_dir), {"spec": "double"})

    assert result.output.strip() == "def solve(x):\n    return x * 2"
    second = json.dumps(gateway.scripts["main"].calls[1])
    assert "must_not_match: the output must not match the pattern" in second
    assert "found 'print('" in second
    assert (Path(result.output_dir or "") / "program.py").read_text() == result.output
    kinds = [k for k, _ in guardrail_events(settings, result.run_id)]
    assert kinds == ["guardrail_failed", "guardrail_passed"]
