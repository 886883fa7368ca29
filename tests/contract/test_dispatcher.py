"""The dispatcher on the real CrewAI engine with a scripted model: results, checkpoints,
events, usage, output files, and what is kept when a model fails mid-run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.errors import ConfigError, InputError
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings


def scripted_dispatcher(settings: Settings, replies: Any) -> tuple[Dispatcher, Gateway]:
    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", replies)
    return Dispatcher(settings, gateway=gateway), gateway


def test_sequential_run_returns_outputs_and_records_everything(
    settings: Settings, two_step_crew: Path
) -> None:
    replies = ["Thought: done\nFinal Answer: - fact one\n- fact two", "# Report\nAll good."]
    dispatcher, gateway = scripted_dispatcher(settings, replies)
    seen: list[str] = []
    dispatcher.listeners.append(lambda e: seen.append(e.kind))
    spec = load_crew("demo", settings.crews_dir)

    result = dispatcher.run(spec, {"topic": "tidal power"})

    assert result.status == "done"
    assert result.output == "# Report\nAll good."
    assert [(t.task, t.agent) for t in result.task_outputs] == [
        ("research", "researcher"),
        ("write", "writer"),
    ]
    assert result.task_outputs[0].output == "- fact one\n- fact two"
    report = Path(result.output_dir or "") / "report.md"
    assert report.read_text() == "# Report\nAll good."
    # prompts: inputs filled in, the second task sees the first one's output
    first, second = gateway.scripts["main"].calls
    assert "List facts about tidal power." in json.dumps(first)
    assert "fact one" in json.dumps(second)
    assert result.usage["calls"] == 2 and result.usage["total_tokens"] > 0
    # the run store holds the run, both checkpoints in order, and every model call
    store = RunStore(settings.runs_db)
    record = store.get(result.run_id)
    assert (record.status, record.crew, record.inputs) == ("done", "demo", {"topic": "tidal power"})
    assert [c.task for c in store.checkpoints(result.run_id)] == ["research", "write"]
    assert len(store.model_calls(result.run_id)) == 2
    assert seen[0] == "run_started" and seen[-1] == "run_finished"
    assert seen.index("task_started") < seen.index("task_finished")
    assert seen.count("task_finished") == 2 and seen.count("model_call") == 2


def test_failing_model_keeps_finished_task_outputs(settings: Settings, two_step_crew: Path) -> None:
    dispatcher, _ = scripted_dispatcher(settings, ["Final Answer: the facts"])  # one reply only
    spec = load_crew("demo", settings.crews_dir)

    with pytest.raises(RunFailed) as info:
        dispatcher.run(spec, {"topic": "x"})

    failed = info.value.result
    assert failed.status == "failed"
    assert "model alias 'standard'" in (failed.error or "")
    assert "no reply left" in (failed.error or "")
    assert [t.task for t in failed.task_outputs] == ["research"]
    store = RunStore(settings.runs_db)
    assert store.get(failed.run_id).status == "failed"
    assert store.checkpoints(failed.run_id)[0].output == "the facts"


def test_missing_input_fails_before_any_run_is_recorded(
    settings: Settings, two_step_crew: Path
) -> None:
    from crewyard.errors import InputError

    dispatcher, _ = scripted_dispatcher(settings, [])
    with pytest.raises(InputError, match="needs input 'topic'"):
        dispatcher.run(load_crew("demo", settings.crews_dir), {})
    assert RunStore(settings.runs_db).recent() == []


def test_output_file_cannot_escape_the_run_folder(settings: Settings, make_crew: Any) -> None:
    """Refused when the crew is loaded (so --dry-run catches it), with file:line and key; an
    input that would make a filled output_file escape is refused before the run starts."""
    task = {"description": "d", "expected_output": "e", "agent": "a"}
    agents = {"a": {"role": "A", "goal": "g", "backstory": "b", "max_retry_limit": 0}}
    make_crew("escape", agents=agents, tasks={"t": {**task, "output_file": "../../evil.md"}})
    with pytest.raises(ConfigError) as info:
        load_crew("escape", settings.crews_dir)
    assert (info.value.file or "").endswith("escape/tasks.yaml") and info.value.line == 5
    assert info.value.key == "t.output_file" and "'..'" in str(info.value)
    make_crew("absolute", agents=agents, tasks={"t": {**task, "output_file": "/tmp/evil.md"}})
    with pytest.raises(ConfigError, match="is an absolute path"):
        load_crew("absolute", settings.crews_dir)

    make_crew("filled", agents=agents, tasks={"t": {**task, "output_file": "{name}.md"}})
    dispatcher, gateway = scripted_dispatcher(settings, ["Final Answer: x"])
    with pytest.raises(InputError, match="climbs out of the outputs folder") as bad:
        dispatcher.run(load_crew("filled", settings.crews_dir), {"name": "../../evil"})
    assert bad.value.key == "name" and gateway.scripts["main"].calls == []
    assert not list(settings.data_dir.parent.rglob("evil.md"))


def test_hierarchical_crew_runs_under_a_manager_model(settings: Settings, make_crew: Any) -> None:
    from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS

    make_crew(
        "managed",
        crew={
            "process": "hierarchical",
            "inputs": TOPIC_INPUT,
            "models": {"default": "standard", "manager": "smart"},
        },
        agents=TWO_AGENTS,
        tasks=TWO_TASKS,
    )
    settings.models_file.write_text(
        json.dumps(
            {
                "aliases": {
                    "standard": {"model": "scripted/worker"},
                    "smart": {"model": "scripted/manager"},
                }
            }
        )
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    manager = gateway.register_script("manager", ["Final Answer: plan done", "Final Answer: ok"])
    dispatcher = Dispatcher(settings, gateway=gateway)
    spec = load_crew("managed", settings.crews_dir)
    assert dispatcher.plan(spec).models == {
        "smart": "scripted/manager",
        "standard": "scripted/worker",
    }

    result = dispatcher.run(spec, {"topic": "tides"})

    assert result.output == "ok"
    assert manager.unused == 0 and len(manager.calls) == 2
    assert "Researcher" in json.dumps(manager.calls[0])  # the manager is told about its crew
    calls = RunStore(settings.runs_db).model_calls(result.run_id)
    assert {c["alias"] for c in calls} == {"smart"}
