"""The planning processes on the real AutoGen engine with a scripted model: plan_execute's
plan, steps and replan after a failed step; rewoo's evidence substitution with tools run
without a model; tree_of_thought's beam pruning and token budget; and the record of all three
(events, `runs show`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings

PLANNER = {"role": "Planner", "goal": "Plan the work", "backstory": "b"}
WORKER = {"role": "Researcher", "goal": "Do the steps", "backstory": "b"}
SOLVER = {"role": "Solver", "goal": "Answer from evidence", "backstory": "b"}
TASK = {"description": "Find what the notes say about tides", "expected_output": "a summary"}
QUIET = {"memory": {"enabled": False}, "workspace": {"folders": ["docs"]}}


def events(settings: Settings, run_id: str, kind: str) -> list[dict[str, Any]]:
    return [d for k, d in RunStore(settings.runs_db).events(run_id) if k == kind]


def plan(*steps: tuple[str, str, list[str]]) -> str:
    return json.dumps({"steps": [{"agent": a, "does": d, "tools": t} for a, d, t in steps]})


def run(settings: Settings, name: str, replies: list[str]) -> tuple[Any, Any]:
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", replies)
    result = Dispatcher(settings, gateway=gateway).run(load_crew(name, settings.crews_dir))
    return result, script


@pytest.fixture
def docs_crew(make_crew: Any) -> Any:
    def make(process: str, agents: dict[str, Any], options: dict[str, Any]) -> Path:
        folder = make_crew(
            "planned",
            agents=agents,
            tasks={"t": TASK},
            crew={"process": process, "engine_options": options, **QUIET},
        )
        (folder / "docs").mkdir()
        (folder / "docs" / "tides.md").write_text("Tides follow the moon.\n")
        return folder

    return make


def test_plan_execute_runs_the_plan_and_replans_after_a_failed_step(
    settings: Settings, docs_crew: Any
) -> None:
    docs_crew(
        "plan_execute",
        {"planner": PLANNER, "worker": {**WORKER, "tools": ["read_file"]}},
        {"max_steps": 4, "max_replans": 1},
    )
    result, script = run(
        settings,
        "planned",
        [
            '{"steps": [{"agent": "nobody", "does": "x", "tools": []}]}',  # not an agent
            plan(("worker", "Read the wrong file", ["read_file"]), ("worker", "Sum up", [])),
            "STEP FAILED: there is no such file",
            plan(("worker", "Read docs/tides.md", ["read_file"])),
            "The notes say tides follow the moon.",
            "Summary: tides follow the moon.",
        ],
    )
    assert result.status == "done", result.error
    assert result.output == "Summary: tides follow the moon."
    assert script.unused == 0
    # the planner read why its first plan did not fit, and the schema it must fit
    retry = json.dumps(script.calls[1])
    assert "names agent 'nobody'" in retry and "planner, worker" in retry
    made = events(settings, result.run_id, "plan_made")
    assert made[0]["steps"] == [
        "1. worker: Read the wrong file (tools: read_file)",
        "2. worker: Sum up",
    ]
    steps = events(settings, result.run_id, "step_finished")
    assert [(s["step"], s["ok"]) for s in steps] == [(1, False), (1, True)]
    assert steps[0]["failure"] == "there is no such file"
    revised = events(settings, result.run_id, "plan_revised")
    assert revised[0]["steps"] == ["1. worker: Read docs/tides.md (tools: read_file)"]
    assert "there is no such file" in json.dumps(script.calls[3])  # the replanner was told
    # the step's result reached the answer's prompt; the failed plan's second step never ran
    assert "tides follow the moon" in json.dumps(script.calls[5])
    assert "Sum up" not in json.dumps(script.calls[5])


def test_plan_execute_stops_when_replans_are_spent(settings: Settings, docs_crew: Any) -> None:
    docs_crew("plan_execute", {"planner": PLANNER, "worker": WORKER}, {"max_replans": 0})
    with pytest.raises(RunFailed) as failed:
        run(settings, "planned", [plan(("worker", "Look it up", [])), "STEP FAILED: no idea"])
    assert failed.value.result.status == "failed"
    assert "step 1 (Look it up) failed: no idea" in str(failed.value.result.error)
    assert "max_replans: 0" in str(failed.value)


def test_rewoo_substitutes_evidence_and_runs_tools_without_the_model(
    settings: Settings, docs_crew: Any
) -> None:
    docs_crew(
        "rewoo",
        {"planner": {**PLANNER, "tools": ["list_files", "read_file"]}, "solver": SOLVER},
        {},
    )
    evidence_plan = {
        "steps": [
            {"plan": "find the notes", "tool": "list_files", "args": {"path": "docs"}},
            {"plan": "read them", "tool": "read_file", "args": {"path": "docs/tides.md"}},
            {"plan": "explain", "tool": "llm", "args": {"prompt": "Explain simply: #E2"}},
        ]
    }
    result, script = run(
        settings,
        "planned",
        [json.dumps(evidence_plan), "The moon pulls the sea.", "Tides follow the moon."],
    )
    assert result.status == "done", result.error
    assert result.output == "Tides follow the moon."
    assert len(script.calls) == 3  # plan, the llm step, the solver: the tools took no call
    tools = events(settings, result.run_id, "tool_call")
    assert [t["tool"] for t in tools] == ["list_files", "read_file"]
    found = events(settings, result.run_id, "evidence")
    assert [e["var"] for e in found] == ["#E1", "#E2", "#E3"]
    assert found[2]["args"] == {"prompt": "Explain simply: Tides follow the moon.\n"}
    asked = script.calls[1][-1]["content"]
    assert asked == "Explain simply: Tides follow the moon.\n"  # #E2 became its result
    solve = json.dumps(script.calls[2])
    assert "The moon pulls the sea." in solve and "tides.md" in solve


def test_rewoo_refuses_a_plan_using_evidence_not_yet_gathered(
    settings: Settings, docs_crew: Any
) -> None:
    docs_crew("rewoo", {"planner": {**PLANNER, "tools": ["read_file"]}, "solver": SOLVER}, {})
    early = {"steps": [{"plan": "p", "tool": "read_file", "args": {"path": "#E1"}}]}
    good = {"steps": [{"plan": "p", "tool": "read_file", "args": {"path": "docs/tides.md"}}]}
    result, script = run(
        settings, "planned", [json.dumps(early), json.dumps(good), "Tides follow the moon."]
    )
    assert result.status == "done", result.error
    assert "step 1 uses #E1, which no earlier step gives" in json.dumps(script.calls[1])


def test_tree_of_thought_keeps_the_best_beam(settings: Settings, make_crew: Any) -> None:
    make_crew(
        "thought",
        agents={"thinker": WORKER, "evaluator": SOLVER},
        tasks={"t": TASK},
        crew={
            "process": "tree_of_thought",
            "engine_options": {"breadth": 3, "depth": 2, "beam": 1},
            "memory": {"enabled": False},
        },
    )
    result, script = run(
        settings,
        "thought",
        [
            json.dumps({"thoughts": ["weak", "strong", "middling"]}),
            json.dumps({"scores": [2, 9, 5]}),
            json.dumps({"thoughts": ["deeper a", "deeper b", "deeper c"]}),
            json.dumps({"scores": [3, 4, 8]}),
            "The answer along strong and deeper c.",
        ],
    )
    assert result.status == "done", result.error
    levels = events(settings, result.run_id, "thoughts_scored")
    assert [[c["kept"] for c in lv["candidates"]] for lv in levels] == [
        [False, True, False],
        [False, False, True],
    ]
    second_level = json.dumps(script.calls[2])
    assert "strong" in second_level and "weak" not in second_level  # pruned paths are gone
    final = json.dumps(script.calls[4])
    assert "1. strong" in final and "2. deeper c" in final


def test_tree_of_thought_stops_expanding_when_its_budget_is_spent(
    settings: Settings, make_crew: Any
) -> None:
    make_crew(
        "thought",
        agents={"thinker": WORKER},
        tasks={"t": TASK},
        crew={
            "process": "tree_of_thought",
            # the first level's two calls spend more than this; the second level never starts
            "engine_options": {"breadth": 2, "depth": 3, "beam": 2, "max_tokens": 50},
            "memory": {"enabled": False},
        },
    )
    result, script = run(
        settings,
        "thought",
        [
            json.dumps({"thoughts": ["one", "two"]}),
            json.dumps({"scores": [4, 7]}),
            "Answer from two.",
        ],
    )
    assert result.status == "done", result.error
    assert len(script.calls) == 3
    levels = events(settings, result.run_id, "thoughts_scored")
    assert levels[-1]["budget_spent"] is True
    assert "1. two" in json.dumps(script.calls[2])


def test_runs_show_and_dry_run_explain_the_plan(
    settings: Settings, docs_crew: Any, capsys: Any, monkeypatch: Any
) -> None:
    docs_crew("rewoo", {"planner": {**PLANNER, "tools": ["read_file"]}, "solver": SOLVER}, {})
    good = {"steps": [{"plan": "read", "tool": "read_file", "args": {"path": "docs/tides.md"}}]}
    result, _ = run(settings, "planned", [json.dumps(good), "Tides follow the moon."])
    monkeypatch.setenv("CREWYARD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CREWYARD_CREWS_DIR", str(settings.crews_dir))
    monkeypatch.setenv("CREWYARD_MODELS_FILE", str(settings.models_file))
    capsys.readouterr()
    assert main(["runs", "show", result.run_id]) == 0
    shown = capsys.readouterr().out
    assert 'plan of t:\n  #E1 = read_file[{"path": "docs/tides.md"}]' in shown
    assert "#E1 → Tides follow the moon." in shown
    assert main(["--crew", "planned", "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "how: planner writes the whole plan in one call" in dry
    assert "then solver answers from the evidence" in dry
