"""runs show --transcript and --follow on real runs (scripted model): a CrewAI run's turns are
its answered model calls with their recorded replies, an AutoGen debate's are its group-chat
messages with the model and tokens of each speaker; --follow tails a run still running in a
thread until it ends, and Ctrl-C stops it with exit code 0."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from crewyard.cli import follow as follow_cli
from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.runs.transcripts import NO_TEXT
from crewyard.settings import Settings
from crewyard.ui.app import create_app
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS, MakeCrew, cli_uses

NO_MEMORY = {"enabled": False}


@pytest.fixture
def env(settings: Settings, make_crew: MakeCrew, monkeypatch: pytest.MonkeyPatch) -> Settings:
    make_crew(
        "demo",
        crew={"inputs": TOPIC_INPUT, "memory": NO_MEMORY},
        agents=TWO_AGENTS,
        tasks=TWO_TASKS,
    )
    cli_uses(settings, monkeypatch)
    return settings


def script(settings: Settings, replies: list[str]) -> None:
    models = {"aliases": {"standard": {"model": "scripted/main", "script": replies}}}
    settings.models_file.write_text(json.dumps(models))


def last_run(settings: Settings) -> str:
    return RunStore(settings.runs_db).recent(1)[0].id


def test_a_crewai_transcript_is_each_answered_call_with_its_reply(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    script(env, ["Final Answer: tides rise twice a day", "# Tides\n\nThey follow the moon."])
    assert main(["--crew", "demo", "--input", "topic=tides"]) == 0
    run_id = last_run(env)
    capsys.readouterr()

    assert main(["runs", "show", run_id, "--transcript"]) == 0
    out = capsys.readouterr().out
    assert f"run {run_id} · crew demo · crewai · done · 2 turns" in out
    first, second = out.split("── turn ")[1:]
    assert first.startswith("1 · research · researcher · scripted/main · ")
    assert "Final Answer: tides rise twice a day" in first
    assert second.startswith("2 · write · writer · scripted/main · ")
    assert "# Tides\n\nThey follow the moon." in second

    assert main(["runs", "show", run_id, "--transcript", "--json"]) == 0
    turns = json.loads(capsys.readouterr().out)
    assert [(t["agent"], t["task"], t["model"]) for t in turns] == [
        ("researcher", "research", "scripted/main"),
        ("writer", "write", "scripted/main"),
    ]
    calls = RunStore(env.runs_db).model_calls(run_id)
    assert [t["prompt_tokens"] for t in turns] == [c["prompt_tokens"] for c in calls]
    assert all(t["completion_tokens"] > 0 for t in turns)

    # the run viewer's timeline of the same run carries the same replies
    app = create_app(RunStore(env.runs_db), env.cassettes_dir, "t0ken")
    data = TestClient(app).get(f"/api/runs/{run_id}", params={"token": "t0ken"}).json()
    replies = [(i["agent"], i["text"]) for i in data["items"] if i["kind"] == "model_call"]
    assert replies == [(t["agent"], t["text"]) for t in turns]
    assert [(t["name"], t["state"], t["model_calls"]) for t in data["tasks"]] == [
        ("research", "done", 1),
        ("write", "done", 1),
    ]


def test_a_run_without_a_cassette_has_its_turns_without_their_text(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    script(env, ["Final Answer: facts", "# Report"])
    assert main(["--crew", "demo", "--input", "topic=x", "--no-record"]) == 0
    capsys.readouterr()
    assert main(["runs", "show", last_run(env), "--transcript"]) == 0
    out = capsys.readouterr().out
    assert out.count(NO_TEXT) == 2 and "researcher · scripted/main" in out


def test_a_debate_transcript_is_its_group_chat_in_order(
    env: Settings, make_crew: MakeCrew, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = {"backstory": "b", "goal": "argue well"}
    make_crew(
        "town",
        crew={
            "process": "debate",
            "memory": NO_MEMORY,
            "engine_options": {"rounds": 1, "debaters": ["pro", "con"], "judge": "judge"},
        },
        agents={
            "pro": {**agent, "role": "Proposer"},
            "con": {**agent, "role": "Critic"},
            "judge": {**agent, "role": "Judge"},
        },
        tasks={
            "decide": {
                "description": "Should the town build a solar farm?",
                "expected_output": "A verdict",
            }
        },
    )
    script(env, ["Yes: cheap power.", "No: it takes the meadow.", "Verdict: build it on roofs."])
    assert main(["--crew", "town"]) == 0
    run_id = last_run(env)
    capsys.readouterr()

    assert main(["runs", "show", run_id, "--transcript", "--json"]) == 0
    turns = json.loads(capsys.readouterr().out)
    assert [(t["agent"], t["text"]) for t in turns] == [
        ("pro", "Yes: cheap power."),
        ("con", "No: it takes the meadow."),
        ("judge", "Verdict: build it on roofs."),
    ]
    assert all(t["task"] == "decide" and t["model"] == "scripted/main" for t in turns)
    calls = RunStore(env.runs_db).model_calls(run_id)
    assert sum(t["prompt_tokens"] + t["completion_tokens"] for t in turns) == sum(
        c["prompt_tokens"] + c["completion_tokens"] for c in calls
    )
    assert main(["runs", "show", run_id, "--transcript"]) == 0
    out = capsys.readouterr().out
    assert "autogen · done · 3 turns" in out
    assert "── turn 3 · decide · judge · scripted/main · " in out


def start_held_run(settings: Settings) -> tuple[threading.Thread, threading.Event, str]:
    """The demo crew in a thread, held before its second model call until the event is set;
    returns once its first task is finished (the run id)."""
    release = threading.Event()

    def replies(messages: list[dict[str, Any]]) -> str:
        if "Write a report" not in json.dumps(messages):
            return "Final Answer: facts"
        assert release.wait(60), "the test never let the run go on"
        return "# Report"

    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", replies)
    dispatcher = Dispatcher(settings, gateway=gateway)
    spec = load_crew("demo", settings.crews_dir)
    runner = threading.Thread(target=dispatcher.run, args=(spec, {"topic": "tides"}), daemon=True)
    runner.start()
    store = RunStore(settings.runs_db)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = store.recent(1)
        if runs and any(c.task == "research" for c in store.checkpoints(runs[0].id)):
            assert runs[0].status == "running"
            return runner, release, runs[0].id
        time.sleep(0.05)
    raise AssertionError("the run never finished its first task")


@pytest.mark.parametrize("transcript", [False, True], ids=["events", "transcript"])
def test_follow_tails_a_running_run_until_it_ends(
    env: Settings, capsys: pytest.CaptureFixture[str], transcript: bool
) -> None:
    runner, release, run_id = start_held_run(env)
    threading.Timer(1.0, release.set).start()  # the rest happens while it is followed
    flags = ["--follow", "--transcript"] if transcript else ["--follow"]
    started = time.monotonic()
    assert main(["runs", "show", run_id, *flags]) == 0
    assert time.monotonic() - started >= 0.9  # it waited for the run
    runner.join(30)
    out = capsys.readouterr().out
    assert out.startswith(f"following run {run_id} · crew demo · crewai")
    assert f"run {run_id} done in " in out.splitlines()[-1]
    if transcript:
        assert "── turn 1 · research · researcher" in out and "Final Answer: facts" in out
        assert out.index("── turn 2 · write · writer") > out.index("Final Answer: facts")
        assert "# Report" in out
    else:
        kinds = ["task started: research", "task finished: research", "task started: write"]
        kinds += ["model call standard (scripted/main) write · writer", "run finished: done"]
        where = [out.index(k) for k in kinds]
        assert where == sorted(where)


def test_ctrl_c_stops_following_with_exit_code_0(
    env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, release, run_id = start_held_run(env)

    def interrupted(_: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(follow_cli.time, "sleep", interrupted)
    try:
        assert main(["runs", "show", run_id, "--follow"]) == 0
    finally:
        monkeypatch.undo()
        release.set()
        runner.join(30)
    out = capsys.readouterr().out
    assert "task finished: research" in out and "run finished" not in out


def test_follow_of_a_finished_run_prints_it_and_returns(
    env: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script(env, ["Final Answer: facts", "# Report"])
    assert main(["--crew", "demo", "--input", "topic=x"]) == 0
    capsys.readouterr()
    assert main(["runs", "show", last_run(env), "--follow"]) == 0
    out = capsys.readouterr().out
    assert "run started: crew demo on crewai" in out and "run finished: done" in out


def test_follow_ends_when_the_process_running_the_run_dies(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from crewyard.runs.store import RunStore\n"
        "store = RunStore(Path(sys.argv[1]))\n"
        "store.start('20261201-000000-dead00', 'demo', {}, 'crewai', Path('out'), None)\n"
        "store.event('20261201-000000-dead00', 'task_started', {'task': 'research'})\n"
        "print('started', flush=True)\n"
        "time.sleep(1)\n"
        "os._exit(9)  # killed: the run never ends by itself\n"
    )
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(env.runs_db)], cwd=root, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "started\n"
    reaper = threading.Thread(target=proc.wait, daemon=True)  # no zombie that looks alive
    reaper.start()
    assert main(["runs", "show", "20261201-000000-dead00", "--follow"]) == 0
    reaper.join(10)
    out = capsys.readouterr().out
    assert "task started: research" in out
    assert out.splitlines()[-2].startswith("run 20261201-000000-dead00 interrupted")
    assert out.splitlines()[-1] == "error: the process running it stopped"
