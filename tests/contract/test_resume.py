"""`--resume RUN_ID` on both real engines: the finished tasks of a stopped run keep their
outputs, the calls it recorded are answered from its cassette, and only what never got an
answer is asked of the model again; `--from TASK` reruns from a task."""

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
from tests.conftest import cli_uses
from tests.contract.test_autogen_engine import DEBATERS


def dispatcher_with(settings: Settings, replies: list[str]) -> tuple[Dispatcher, Any]:
    gateway = Gateway(ModelTable.load(settings.models_file))
    return Dispatcher(settings, gateway=gateway), gateway.register_script("main", replies)


def failing_then_resumed(
    settings: Settings, crew: str, inputs: dict[str, Any], first: list[str], rest: list[str]
) -> tuple[Any, Any, Any]:
    """Run with replies `first` (the script runs dry: the run fails), then resume the run
    with replies `rest`; (failed result, resumed result, the second script)."""
    spec = load_crew(crew, settings.crews_dir)
    dispatcher, _ = dispatcher_with(settings, first)
    with dispatcher, pytest.raises(RunFailed) as failed:
        dispatcher.run(spec, inputs)
    again, script = dispatcher_with(settings, rest)
    with again:
        resumed = again.run(spec, resume=failed.value.result.run_id)
    return failed.value.result, resumed, script


def test_a_crewai_run_resumes_after_its_last_finished_task(
    settings: Settings, two_step_crew: Path
) -> None:
    failed, resumed, script = failing_then_resumed(
        settings, "demo", {"topic": "tides"}, ["Final Answer: tidal facts"], ["Final Answer: R"]
    )
    assert failed.status == "failed"
    assert [t.task for t in failed.task_outputs] == ["research"]

    # research is kept, not run: one call, the writer's, which reads research's output
    assert len(script.calls) == 1
    assert "tidal facts" in json.dumps(script.calls[0])
    assert "Write a report on tides" in json.dumps(script.calls[0])
    assert resumed.status == "done" and resumed.resume_of == failed.run_id
    assert resumed.kept == ["research"]
    assert [(t.task, t.output) for t in resumed.task_outputs] == [
        ("research", "tidal facts"),
        ("write", "R"),
    ]
    assert (Path(resumed.output_dir or "") / "report.md").read_text() == "R"
    store = RunStore(settings.runs_db)
    assert [c.task for c in store.checkpoints(resumed.run_id)] == ["research", "write"]
    kinds = [kind for kind, _ in store.events(resumed.run_id)]
    assert "task_kept" in kinds
    assert resumed.usage["calls"] == 1


DEBATE_TASKS = {
    "first": {"description": "Debate: {question}", "expected_output": "A verdict"},
    "second": {"description": "Now debate the opposite of: {question}", "expected_output": "V"},
}


def test_a_debate_resumes_from_its_recorded_turns(
    settings: Settings,
    make_crew: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_crew(
        "debate",
        crew={"process": "debate", "inputs": {"question": {}}, "engine_options": {"rounds": 2}},
        agents=DEBATERS,
        tasks=DEBATE_TASKS,
    )
    # the first task (4 turns + verdict) finishes, the second stops after 2 of its turns
    first = ["p1", "c1", "p2", "c2", "verdict one", "p3", "c3"]
    failed, resumed, script = failing_then_resumed(
        settings, "debate", {"question": "Tea?"}, first, ["p4", "c4", "verdict two"]
    )
    assert [t.task for t in failed.task_outputs] == ["first"]
    store = RunStore(settings.runs_db)
    assert [content for *_, content in store.turns(failed.run_id)][-2:] == ["p3", "c3"]

    # the recorded turns p3 and c3 are reused, not asked again: 3 new calls
    assert len(script.calls) == 3
    assert "c3" in json.dumps(script.calls[0])  # the team goes on after the critic's c3
    assert resumed.status == "done" and resumed.kept == ["first"]
    assert [t.output for t in resumed.task_outputs] == ["verdict one", "verdict two"]
    assert resumed.usage["replayed_calls"] == 2
    turns = [content for *_, content in store.turns(resumed.run_id)]
    assert turns == ["p3", "c3", "p4", "c4", "verdict two"]
    cli_uses(settings, monkeypatch)
    assert main(["runs", "show", resumed.run_id]) == 0
    shown = capsys.readouterr().out
    assert f"resume of: {failed.run_id} (kept first)" in shown
    assert "what went wrong" not in shown  # the reused calls went right


def test_resume_from_a_task_reruns_it_and_keeps_the_earlier_ones(
    settings: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = load_crew("demo", settings.crews_dir)
    dispatcher, _ = dispatcher_with(settings, ["Final Answer: facts", "Final Answer: draft 1"])
    with dispatcher:
        done = dispatcher.run(spec, {"topic": "tides"})
    again, script = dispatcher_with(settings, ["Final Answer: draft 2"])
    with again:
        rerun = again.run(spec, resume=done.run_id, from_task="write")
    assert len(script.calls) == 1  # the writer only, made again (not reused)
    assert rerun.output == "draft 2" and rerun.kept == ["research"]
    assert "facts" in json.dumps(script.calls[0])


def test_resume_mistakes_say_what_to_do(
    settings: Settings,
    two_step_crew: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = load_crew("demo", settings.crews_dir)
    dispatcher, _ = dispatcher_with(settings, ["Final Answer: facts", "Final Answer: report"])
    with dispatcher:
        done = dispatcher.run(spec, {"topic": "tides"})
    cli_uses(settings, monkeypatch)
    assert main(["--resume", done.run_id]) == 2
    err = capsys.readouterr().err
    assert f"run {done.run_id} is done" in err and "--from" in err
    assert main(["--resume", done.run_id, "--from", "wrte"]) == 2
    assert "did you mean 'write'" in capsys.readouterr().err
    assert main(["--resume", "no-such-run"]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err
    assert main(["--crew", "demo", "--from", "write"]) == 2
    assert "--from TASK goes with --resume" in capsys.readouterr().err
