"""Record and replay against tests/fakellm: a replay makes no model call and gives the recorded
outputs, whatever the memory holds now; a changed crew fails with a diff; a canary API key
reaches no cassette, run record, log, output or message; the CLI and notebook entry points."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import crewyard
from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.errors import ReplayMismatch
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.recall import recall, render
from crewyard.runs.cassettes import read_cassette
from crewyard.runs.costs import cost_report
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import TWO_AGENTS, TWO_TASKS, cli_uses, standard_at, write_yaml
from tests.fakellm import FakeLLM, Reply

CANARY = "canary-7d41c9e2b5a8f036"
RESEARCH = Reply("Thought: done\nFinal Answer: - tides rise twice a day", prompt_tokens=120)
REPORT = Reply("# Tides\nA short report.", prompt_tokens=150)


def point_at(
    settings: Settings, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, key: str = "replay-key-01"
) -> None:
    standard_at(settings, fake.url, monkeypatch, key=key, num_retries=1, retry_backoff_s=0)
    cli_uses(settings, monkeypatch)


def last_run_id(settings: Settings) -> str:
    return RunStore(settings.runs_db).recent(1)[0].id


def test_replay_of_a_recorded_run_makes_zero_calls(
    settings: Settings, two_step_crew: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(RESEARCH, REPORT)
    point_at(settings, fakellm, monkeypatch)
    spec = load_crew("demo", settings.crews_dir)
    original = Dispatcher(settings).run(spec, {"topic": "tides"}, record=True)
    assert len(fakellm.requests) == 2
    assert original.cassette == str(settings.cassettes_dir / f"{original.run_id}.jsonl")

    monkeypatch.delenv("FAKELLM_API_KEY")  # a replay needs no key: it calls no model
    replayed = Dispatcher(settings).run(spec, replay=original.run_id)

    assert len(fakellm.requests) == 2  # nothing reached the server
    assert replayed.run_id != original.run_id and replayed.replay_of == original.run_id
    assert replayed.output == original.output == "# Tides\nA short report."
    assert replayed.task_outputs == original.task_outputs
    assert (Path(replayed.output_dir or "") / "report.md").read_text() == original.output
    store = RunStore(settings.runs_db)
    record = store.get(replayed.run_id)
    assert (record.status, record.replay_of, record.inputs) == (
        "done",
        original.run_id,
        {"topic": "tides"},
    )
    assert record.usage["calls"] == 0 and record.usage["replayed_calls"] == 2
    calls = store.model_calls(replayed.run_id)
    assert [(c["agent"], c["replayed"], c["cached"], c["prompt_tokens"]) for c in calls] == [
        ("researcher", 1, 1, 120),
        ("writer", 1, 1, 150),
    ]
    assert {c["replayed"] for c in store.model_calls(original.run_id)} == {0}
    started = dict(store.events(replayed.run_id))["run_started"]
    assert started["replay_of"] == original.run_id
    (spend,) = cost_report(store, "crew")  # a replay neither spends nor saves anything
    assert (spend["calls"], spend["cache_hits"], spend["tokens_saved"]) == (2, 0, 0)


def test_replay_after_memory_changed_still_matches(
    settings: Settings, two_step_crew: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    point_at(settings, fakellm, monkeypatch)
    dispatcher = Dispatcher(settings)
    spec = load_crew("demo", settings.crews_dir)
    memory = dispatcher.memory
    seeded = memory.add_fact(
        "Tides rise and fall twice a day, pulled by the moon", crew="x", run_id="s"
    )
    fakellm.add(
        Reply('Thought: check\nAction: memory_search\nAction Input: {"query": "tides moon"}'),
        Reply("Thought: done\nFinal Answer: - tides follow the moon"),
        REPORT,
    )
    original = dispatcher.run(spec, {"topic": "tides"}, record=True)
    prompts = fakellm.prompts()
    assert "pulled by the moon" in prompts[0]  # recalled into the system message
    assert "pulled by the moon" in prompts[1].split("memory_search")[-1]  # the tool's answer

    memory.forget(seeded)
    memory.add_fact(
        "Spring tides come at new and full moon, neap tides between", crew="x", run_id="s"
    )
    header, _ = read_cassette(Path(original.cassette or ""))
    fresh = render(recall(memory, spec, {"topic": "tides"}), spec.memory.budget_chars)
    assert "pulled by the moon" in header["memory_block"] and fresh != header["memory_block"]
    before = memory.stats()

    replayed = dispatcher.run(spec, replay=original.run_id)

    assert replayed.status == "done" and replayed.output == original.output
    assert len(fakellm.requests) == 3
    assert memory.stats() == before  # a replay learns nothing and saves nothing


def test_a_changed_task_description_fails_with_a_diff(
    settings: Settings,
    two_step_crew: Path,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakellm.add(RESEARCH, REPORT)
    point_at(settings, fakellm, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=tides", "--record", "-q"]) == 0
    run_id = last_run_id(settings)
    tasks = {
        **TWO_TASKS,
        "research": {**TWO_TASKS["research"], "description": "List three facts about {topic}."},
    }
    write_yaml(two_step_crew / "tasks.yaml", tasks)
    capsys.readouterr()

    assert main(["--replay", run_id, "-q"]) == 1

    err = capsys.readouterr().err
    assert "call 1 (agent 'researcher', task 'research') differs from the recording" in err
    assert "-    Current Task: List facts about tides." in err
    assert "+    Current Task: List three facts about tides." in err
    assert "--crew demo --record" in err
    assert len(fakellm.requests) == 2
    replay = RunStore(settings.runs_db).get(last_run_id(settings))
    assert (replay.status, replay.replay_of) == ("failed", run_id)
    with pytest.raises(RunFailed) as info:  # in Python the cause is the mismatch itself
        Dispatcher(settings).run(load_crew("demo", settings.crews_dir), replay=run_id)
    assert isinstance(info.value.__cause__, ReplayMismatch)


def test_a_canary_key_reaches_no_cassette_record_log_or_message(
    settings: Settings,
    two_step_crew: Path,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    point_at(settings, fakellm, monkeypatch, key=CANARY)
    fakellm.add(
        Reply(status=500, error=f"upstream rejected key {CANARY}"),  # retried
        RESEARCH,
        Reply(status=500, error=f"invalid api key {CANARY}"),
        Reply(status=500, error=f"invalid api key {CANARY}"),  # the run fails on it
    )
    assert main(["--crew", "demo", "--input", "topic=tides", "--record"]) == 1
    run_id = last_run_id(settings)
    assert main(["--replay", run_id]) == 1  # the replay fails the same way, calling nothing
    out, err = capfd.readouterr()

    assert fakellm.headers[0]["authorization"] == f"Bearer {CANARY}"  # the key was in use
    assert len(fakellm.requests) == 4
    assert err.count("invalid api key [REDACTED]") >= 2  # both runs told the provider's error
    assert CANARY not in out + err
    cassette = settings.cassettes_dir / f"{run_id}.jsonl"
    assert "invalid api key [REDACTED]" in cassette.read_text()
    dump = "\n".join(sqlite3.connect(settings.runs_db).iterdump())
    assert "upstream rejected key [REDACTED]" in dump and CANARY not in dump
    for log in (settings.logs_dir).glob("*.jsonl"):
        assert CANARY not in log.read_text()
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    assert cassette in files and len(list(settings.logs_dir.glob("*.jsonl"))) == 2
    assert [p for p in files if CANARY.encode() in p.read_bytes()] == []
    with pytest.raises(RunFailed) as info:
        Dispatcher(settings).run(load_crew("demo", settings.crews_dir), replay=run_id)
    assert CANARY not in str(info.value) and "[REDACTED]" in str(info.value)


def test_cli_records_shows_and_replays_by_run_id(
    settings: Settings,
    two_step_crew: Path,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fakellm.add(RESEARCH, REPORT)
    point_at(settings, fakellm, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=tides", "--record", "-q"]) == 0
    run_id = last_run_id(settings)
    cassette = settings.cassettes_dir / f"{run_id}.jsonl"
    assert f"cassette: {cassette}" in capsys.readouterr().err

    assert main(["runs", "show", run_id]) == 0
    assert f"cassette: {cassette} (replay it: python main.py --replay {run_id})" in (
        capsys.readouterr().out
    )
    assert main(["--replay", run_id[:-2]]) == 0  # a unique prefix is enough
    out, err = capsys.readouterr()
    assert f"replaying run {run_id}" in " ".join(err.split())  # rich wraps at 80 columns
    assert out.strip() == "# Tides\nA short report."
    assert "in 0 model calls" in err and f"replayed 2 model calls of run {run_id}" in err
    replay_id = last_run_id(settings)
    assert main(["--crew", "demo", "--replay", str(cassette), "--input", "topic=tides", "-q"]) == 0
    capsys.readouterr()
    assert main(["runs", "show", replay_id]) == 0
    shown_text = capsys.readouterr().out
    assert f"replay of: {run_id}" in shown_text and "cassette:" not in shown_text
    assert main(["runs", "show", replay_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["replay_of"], shown["cassette"]) == (run_id, None)
    assert len(fakellm.requests) == 2


def test_cli_replay_of_what_cannot_be_replayed_exits_2(
    settings: Settings,
    make_crew: Any,
    two_step_crew: Path,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    agents = {"a": {"role": "r", "goal": "g", "backstory": "b"}}
    tasks = {"t": {"description": "{topic}", "expected_output": "x"}}
    make_crew("other", crew={"inputs": {"topic": {}}}, agents=agents, tasks=tasks)
    fakellm.add(RESEARCH, REPORT, RESEARCH, REPORT)
    point_at(settings, fakellm, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=tides", "--no-record", "-q"]) == 0
    plain = last_run_id(settings)
    assert main(["--crew", "demo", "--input", "topic=tides", "-q"]) == 0  # recorded by default
    recorded = last_run_id(settings)
    capsys.readouterr()

    for argv, message in [
        (["--replay", "nope"], "no run 'nope'"),
        (["--replay", "missing.jsonl"], "no cassette file missing.jsonl"),
        (["--replay", plain], f"run {plain} was not recorded"),
        (["--crew", "other", "--replay", recorded], "is a run of crew 'demo', not 'other'"),
        (["--crew", "demo", "--record", "--replay", recorded], "cannot record or resume"),
    ]:
        assert main([*argv, "--input", "topic=tides", "-q"]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "fix:" in err, err
    assert len(fakellm.requests) == 4
    assert len(RunStore(settings.runs_db).recent()) == 2  # none of them started a run


def test_notebook_record_and_replay(settings: Settings, two_step_crew: Path) -> None:
    models = {
        "aliases": {
            "standard": {"model": "scripted/main", "script": ["Final Answer: notes", "# Report"]}
        }
    }
    settings.models_file.write_text(json.dumps(models))
    spec = load_crew("demo", settings.crews_dir)
    first = crewyard.run(spec, settings=settings, record=True, topic="tides")
    models["aliases"]["standard"]["script"] = []  # a model call now would fail the run
    settings.models_file.write_text(json.dumps(models))

    again = crewyard.run(spec, settings=settings, replay=first.run_id)

    assert (again.output, again.replay_of, again.usage["calls"]) == ("# Report", first.run_id, 0)


def test_autogen_debate_replays_with_its_memory_reads(settings: Settings, make_crew: Any) -> None:
    make_crew(
        "debate",
        crew={"process": "debate", "inputs": {"question": {}}, "engine_options": {"rounds": 1}},
        agents={
            n: {"role": n.title(), "goal": "g", "backstory": "b"} for n in ("pro", "con", "judge")
        },
        tasks={"d": {"description": "Debate: {question}", "expected_output": "Verdict"}},
    )
    spec = load_crew("debate", settings.crews_dir)
    recording = Gateway(ModelTable.load(settings.models_file))
    recording.register_script("main", ["Yes, tea.", "No, coffee.", "Verdict: tea."])
    dispatcher = Dispatcher(settings, gateway=recording)
    dispatcher.memory.add_fact("Tea has less caffeine than coffee", crew="x", run_id="s")
    original = dispatcher.run(spec, {"question": "Tea or coffee?"}, record=True)
    _, entries = read_cassette(Path(original.cassette or ""))
    assert [e["kind"] for e in entries].count("memory") >= 3  # AutoGen's Memory protocol reads
    dispatcher.memory.reset("facts")

    silent = Gateway(ModelTable.load(settings.models_file))
    silent.register_script("main", [])
    replayed = Dispatcher(settings, gateway=silent).run(spec, replay=original.run_id)

    assert replayed.output == original.output == "Verdict: tea."
    assert silent.scripts["main"].calls == []
    assert RunStore(settings.runs_db).turns(replayed.run_id) == RunStore(settings.runs_db).turns(
        original.run_id
    )


def test_runs_show_of_a_replay_that_went_right_lists_no_recorded_failure(
    settings: Settings,
    make_crew: Any,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The recorded run's guardrail retry happens again in the replay, on the recorded reply:
    the replay's `runs show` does not list it as what went wrong (the original's does)."""
    titled = {**TWO_TASKS["write"], "guardrails": {"must_match": ["^# "]}}
    make_crew(
        "demo",
        crew={"name": "demo", "inputs": {"topic": {"type": "str"}}},
        agents=TWO_AGENTS,
        tasks={**TWO_TASKS, "write": titled},
    )
    fakellm.add(RESEARCH, Reply("A report with no title."), REPORT)
    point_at(settings, fakellm, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=tides", "-q"]) == 0
    run_id = last_run_id(settings)
    assert main(["runs", "show", run_id]) == 0
    shown = capsys.readouterr().out
    assert "what went wrong along the way" in shown and "guardrails of write failed" in shown
    assert main(["--replay", run_id, "-q"]) == 0
    replay_id = last_run_id(settings)
    events = [kind for kind, _ in RunStore(settings.runs_db).events(replay_id)]
    assert "guardrail_failed" in events  # it did happen again, on the recorded reply
    capsys.readouterr()
    assert main(["runs", "show", replay_id]) == 0
    shown = capsys.readouterr().out
    assert f"replay of: {run_id}" in shown and "what went wrong" not in shown
