"""AutoGen agents on models without native tool calls get their tools as JSON steps
(engines/autogen_steps.py): a scripted model's steps become real tool calls inside the
workspace, their results come back as observations; the embedded model's steps are decoded
by grammar, so every one parses; an agent with only the memory tools stays in prose."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import write_yaml

AGENT = {"role": "Reader", "goal": "Read the docs", "backstory": "b", "max_iter": 6}
JUDGE = {"role": "Judge", "goal": "Judge the reading", "backstory": "b"}
TASK = {"description": "Summarise the docs", "expected_output": "a summary"}
DEBATE = {"rounds": 1, "debaters": ["a"], "judge": "judge"}


def step(tool: str, args: dict[str, Any]) -> str:
    return json.dumps({"thought": "look", "action": tool, "action_input": args})


def events(settings: Settings, run_id: str, kind: str) -> list[dict[str, Any]]:
    return [d for k, d in RunStore(settings.runs_db).events(run_id) if k == kind]


def test_scripted_steps_become_tool_calls_whose_results_come_back(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    folder = make_crew(
        "reader",
        agents={"a": {**AGENT, "tools": ["read_file", "list_files"]}, "judge": JUDGE},
        tasks={"t": TASK},
        crew={
            "process": "debate",
            "engine_options": DEBATE,
            "workspace": {"folders": ["docs"]},
            "memory": {"enabled": False},
        },
    )
    (folder / "docs").mkdir()
    (folder / "docs" / "intro.md").write_text("Tides follow the moon.\n")
    (tmp_path / "secret.txt").write_text("the moon is cheese")
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script(
        "main",
        [
            step("list_files", {"path": "docs"}),
            step("read_file", {"path": "docs/intro.md"}),
            step("read_file", {"path": "../secret.txt"}),
            step("no_such_tool", {}),  # a tool not offered: an error the agent reads
            json.dumps({"thought": "done", "final_answer": "The tides follow the moon."}),
            "Verdict: tides follow the moon.",
        ],
    )
    result = Dispatcher(settings, gateway=gateway).run(load_crew("reader", settings.crews_dir))

    assert result.status == "done", result.error
    assert result.output == "Verdict: tides follow the moon."
    calls = events(settings, result.run_id, "tool_call")
    assert [c["tool"] for c in calls] == ["list_files", "read_file", "read_file"]
    first, second, third, fourth, fifth = (json.dumps(c) for c in script.calls[:5])
    assert "You can use these tools" in first and "read_file(" in first
    assert "Result of tool list_files" in second and "intro.md" in second
    assert "Tides follow the moon." in third
    assert "contains '..'" in fourth  # the refusal went back to the agent
    assert "no_such_tool" in fifth and "not found" in fifth
    assert "cheese" not in json.dumps(script.calls)
    said = [text for _, agent, text in RunStore(settings.runs_db).turns(result.run_id)]
    assert said[0] == "The tides follow the moon."  # the step's final answer, not its JSON
    # the agent's steps are in its history as it wrote them, never as `tool` messages
    assert all(m["role"] != "tool" for c in script.calls for m in c)
    # the judge has no tools of its own: plain prose, no step instructions
    assert "You can use these tools" not in json.dumps(script.calls[5])


def test_an_agent_with_only_memory_tools_answers_in_prose(
    settings: Settings, make_crew: Any
) -> None:
    make_crew(
        "talk",
        agents={"a": AGENT, "judge": JUDGE},
        tasks={"t": TASK},
        crew={"process": "debate", "engine_options": DEBATE},
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", ["Tides follow the moon.", "Verdict: agreed."])
    result = Dispatcher(settings, gateway=gateway).run(load_crew("talk", settings.crews_dir))

    assert result.output == "Verdict: agreed."
    assert "You can use these tools" not in json.dumps(script.calls)
    unavailable = events(settings, result.run_id, "tools_unavailable")
    assert {u["agent"] for u in unavailable} == {"a", "judge"}
    assert all(set(u["tools"]) == {"memory_search", "memory_save"} for u in unavailable)


def test_every_embedded_model_step_on_autogen_parses(settings: Settings, make_crew: Any) -> None:
    models = {
        "aliases": {"standard": {"model": "local/smollm2", "temperature": 0, "max_tokens": 80}},
        "local": {"n_ctx": 2048, "seed": 0},
    }
    write_yaml(settings.models_file, models)
    calculator = {
        "role": "Calculator",
        "goal": "Compute products with the calculator tool",
        "backstory": "You always use the calculator tool.",
        "tools": ["calculator"],
        "max_iter": 3,
    }
    make_crew(
        "sums",
        agents={"a": calculator, "judge": JUDGE},
        tasks={"t": {"description": "What is 17 * 23?", "expected_output": "A number"}},
        crew={"process": "debate", "engine_options": DEBATE, "memory": {"enabled": False}},
    )
    result = Dispatcher(settings).run(load_crew("sums", settings.crews_dir))

    assert result.status == "done", result.error
    steps = [c for c in events(settings, result.run_id, "model_call") if c["agent"] == "a"]
    tool_calls = events(settings, result.run_id, "tool_call")
    assert tool_calls and all(c["tool"] == "calculator" for c in tool_calls)
    # every step of the debater was a tool call or its answer (the last one, or the
    # reflection AutoGen asks for after its last tool call): none was lost to a bad format
    assert len(tool_calls) <= len(steps) <= len(tool_calls) + 1
    said = [
        text for _, agent, text in RunStore(settings.runs_db).turns(result.run_id) if agent == "a"
    ]
    assert said and all(t.strip() and "final_answer" not in t for t in said)
