"""Output for people and for programs: --json on every listing command parses, tables fit the
terminal (and are whole when piped), colour follows --color and NO_COLOR, a pipe gets no
animation, and help and hints name the command as it was invoked."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.cli.output import program_name, table
from crewyard.observe import console
from crewyard.observe.progress import BatchProgress, Progress
from crewyard.runs.batches import Batch, BatchStore
from crewyard.runs.events import Event, EventKind
from crewyard.runs.store import RunStore
from crewyard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
STYLE = re.compile(r"\x1b\[[0-9;]*m")  # a colour or style escape (not a cursor movement)
LONG_CREW = "a_crew_with_a_name_far_longer_than_any_terminal_column_would_like"


@pytest.fixture(autouse=True)
def colour_starts_at_auto() -> Iterator[None]:
    console.set_color("auto")
    yield
    console.set_color("auto")


@pytest.fixture
def store(settings: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    """A run store with a run that went right, one that failed, and a batch."""
    for key, value in {
        "CREWYARD_DATA_DIR": settings.data_dir,
        "CREWYARD_CREWS_DIR": settings.crews_dir,
        "CREWYARD_MODELS_FILE": settings.models_file,
    }.items():
        monkeypatch.setenv(key, str(value))
    settings.data_dir.mkdir(parents=True)
    runs = RunStore(settings.run_store)
    for run_id, crew, status in [("r-done", "demo", "done"), ("r-failed", LONG_CREW, "failed")]:
        runs.start(run_id, crew, {"topic": "tides"}, "crewai", settings.data_dir, None)
        runs.checkpoint(run_id, "research", "researcher", "facts")
        runs.turn(run_id, "research", "researcher", "facts")
        runs.model_call(
            run_id,
            alias="standard",
            model="scripted/main",
            agent="researcher",
            task="research",
            prompt_tokens=10,
            completion_tokens=5,
            cost_usd=0.001,
            latency_ms=3.0,
            error=None,
        )
        runs.finish(run_id, status, output="facts", error="boom" if status == "failed" else None)
    batches = BatchStore(settings.run_store)
    batch = Batch("b-1", "demo", "t.csv", None, "done", time.time(), None, 2, None, None, None, {})
    batches.create(batch, [("0", 1, {"topic": "tides"})])
    return runs


LISTINGS = [
    ["--list", "--json"],
    ["runs", "--json"],
    ["runs", "list", "--json", "--crew", "demo"],
    ["runs", "show", "r-done", "--json"],
    ["runs", "show", "r-failed", "--transcript", "--json"],
    ["runs", "cost", "--json"],
    ["runs", "cost", "--by", "model", "--json"],
    ["batch", "list", "--json"],
    ["batch", "status", "b-1", "--json"],
    ["schedule", "list", "--json"],
]


@pytest.mark.parametrize("argv", LISTINGS, ids=" ".join)
def test_every_listing_prints_one_json_document_on_stdout(
    store: RunStore, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) in (0, 1)  # batch status: 1 when not every item is done
    data = json.loads(capsys.readouterr().out)  # the whole of stdout, nothing else there
    assert data, argv


def test_the_json_says_what_the_text_says(
    store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--list", "--json"]) == 0
    (crew,) = json.loads(capsys.readouterr().out)
    assert crew["name"] == "demo" and crew["process"] == "sequential" and crew["broken"] is None
    assert crew["inputs"]["topic"]["required"] is True
    assert main(["runs", "--json"]) == 0
    assert {r["id"]: r["status"] for r in json.loads(capsys.readouterr().out)} == {
        "r-done": "done",
        "r-failed": "failed",
    }
    assert main(["runs", "cost", "--by", "crew", "--json"]) == 0
    assert {r["crew"] for r in json.loads(capsys.readouterr().out)["crew"]} == {"demo", LONG_CREW}


def test_json_where_it_cannot_be_given_is_refused(
    store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--crew", "demo", "--json"]) == 2
    assert "--json goes with --list" in capsys.readouterr().err
    assert main(["runs", "show", "r-done", "--follow", "--json"]) == 2


def test_tables_fit_the_terminal_and_are_whole_when_piped(
    store: RunStore, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["runs"]) == 0
    piped = capsys.readouterr().out.splitlines()
    assert any(LONG_CREW in line for line in piped) and len(piped) == 2
    monkeypatch.setenv("COLUMNS", "60")  # as a terminal 60 columns wide says
    for argv in (["runs"], ["runs", "cost"], ["--list"], ["batch", "list"]):
        assert main(argv) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines and all(len(line) <= 60 for line in lines), (argv, lines)
    assert main(["runs"]) == 0
    shown = capsys.readouterr().out
    first = shown.splitlines()[0]  # the crew column gave way; the id, status and cost did not
    assert first.startswith("r-failed  a_crew_with_a") and LONG_CREW not in first
    assert "…  failed" in first and first.endswith("$0.0000") and len(first) == 60


def test_a_table_shrinks_the_columns_it_may_then_cuts_lines() -> None:
    rows = [("id-1", "a long description of the first row", "12"), ("id-22", "short", "3")]
    assert table(rows, right=(2,), width=None) == [
        "id-1   a long description of the first row  12",
        "id-22  short                                 3",
    ]
    narrow = table(rows, right=(2,), shrink=(1,), width=24)
    assert narrow == ["id-1   a long descr…  12", "id-22  short           3"]
    assert all(len(line) <= 10 for line in table(rows, width=10))


def test_runs_show_of_a_replay_that_went_right_shows_no_recorded_failures(
    store: RunStore, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    def replay(run_id: str, status: str) -> None:
        store.start(run_id, "demo", {}, "crewai", settings.data_dir, None, replay_of="r-done")
        for attempt, error in ((1, "recorded 503"), (2, None)):
            store.model_call(
                run_id,
                alias="standard",
                model="scripted/main",
                agent="researcher",
                task="research",
                prompt_tokens=1,
                completion_tokens=1,
                cost_usd=0.0,
                latency_ms=1.0,
                error=error,
                attempt=attempt,
                replayed=True,
                note="fell back to fast",
            )
        store.finish(run_id, status, output="facts")

    replay("r-replay", "done")
    assert main(["runs", "show", "r-replay"]) == 0
    shown = capsys.readouterr().out
    assert "replay of: r-done" in shown and "what went wrong" not in shown
    assert "recorded 503" not in shown
    # what went wrong in the replay itself is still told
    store.event("r-replay", EventKind.TOOL_DISABLED, {"tool": "web", "reason": "offline"})
    assert main(["runs", "show", "r-replay"]) == 0
    shown = capsys.readouterr().out
    assert "what went wrong" in shown and "tool web switched off" in shown
    assert "recorded 503" not in shown
    # a replay that failed: the recorded failures, marked, help to see why
    replay("r-replay-failed", "failed")
    assert main(["runs", "show", "r-replay-failed"]) == 0
    assert "failed (as recorded) (research · researcher): recorded 503" in capsys.readouterr().out


EVENTS = [
    Event(EventKind.RUN_STARTED, "r1", {"crew": "demo", "engine": "crewai"}),
    Event(EventKind.TASK_FINISHED, "r1", {"task": "research"}),
]


def _on_a_terminal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """What Progress writes to a real terminal (a pseudo-terminal), and whether it animated."""
    for key in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    leader, follower = os.openpty()
    with open(follower, "w", encoding="utf-8", closefd=True) as terminal:
        progress = Progress(console.make_console(file=terminal))
        with progress:
            animated = progress._status is not None
            for event in EVENTS:
                progress(event)
        terminal.flush()
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: all is read
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return ("animated " if animated else "") + b"".join(chunks).decode("utf-8", "replace")


def test_colour_follows_no_color_and_the_color_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], store: RunStore
) -> None:
    shown = _on_a_terminal(monkeypatch)
    assert shown.startswith("animated ") and STYLE.search(shown), shown  # colour, by default
    shown = _on_a_terminal(monkeypatch, NO_COLOR="1")
    assert "demo" in shown and not STYLE.search(shown), shown
    shown = _on_a_terminal(monkeypatch, NO_COLOR="1", FORCE_COLOR="1")
    assert not STYLE.search(shown), shown  # NO_COLOR wins over a forced terminal
    assert main(["--color", "never", "--list"]) == 0
    assert not STYLE.search(_on_a_terminal(monkeypatch))
    assert main(["--list", "--color=always"]) == 0  # the flag goes anywhere
    shown = _on_a_terminal(monkeypatch, NO_COLOR="1")
    assert STYLE.search(shown), shown  # the flag wins over the variable
    capsys.readouterr()
    with Progress() as progress:  # stderr, not a terminal, with --color always
        assert progress._status is None  # no animation off a terminal, even when coloured
        for event in EVENTS:
            progress(event)
    assert STYLE.search(capsys.readouterr().err)
    assert main(["--color", "sometimes", "--list"]) == 2
    assert "--color 'sometimes' is not one of auto, always, never" in capsys.readouterr().err


def test_no_animation_off_a_terminal_even_when_colour_is_forced(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.delenv("NO_COLOR", raising=False)
    with Progress() as progress:
        assert progress._status is None
        for event in EVENTS:
            progress(event)
    with BatchProgress() as batch:
        assert batch._status is None
    err = capsys.readouterr().err
    assert STYLE.search(err) and "\r" not in err  # coloured milestones, no frames


@pytest.mark.parametrize(
    ("argv0", "name"),
    [
        ("/home/me/.venv/bin/crewyard", "crewyard"),
        ("C:\\venv\\Scripts\\crewyard.exe", "crewyard"),
        (str(ROOT / "crewyard" / "__main__.py"), "python -m crewyard"),
        ("main.py", "python main.py"),
        (str(ROOT / "main.py"), "python main.py"),
        ("", "python main.py"),
    ],
)
def test_the_program_name_follows_how_it_was_invoked(
    argv0: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", [argv0.replace("\\", "/")])
    assert program_name() == name


def test_help_and_hints_say_the_command_the_user_typed(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "crewyard"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CREWYARD_DATA_DIR": str(tmp_path / "d")}
    ways = [([sys.executable, str(ROOT / "main.py")], "python main.py")]
    ways.append(([sys.executable, "-m", "crewyard"], "python -m crewyard"))
    if script.is_file():  # the installed console script
        ways.append(([str(script)], "crewyard"))
    for command, name in ways:
        done = subprocess.run(
            [*command, "runs", "show"], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        assert done.returncode == 2 and f"fix: {name} runs show RUN_ID" in done.stderr, done
        # a hint from below the command line (the run store's) is named the same way
        done = subprocess.run(
            [*command, "runs", "show", "nope"], capture_output=True, text=True, env=env
        )
        assert f"list runs with: {name} runs" in done.stderr, done.stderr
        done = subprocess.run([*command, "runs", "--help"], capture_output=True, text=True, env=env)
        assert done.stdout.startswith(f"usage: {name} runs "), done.stdout
    assert len(ways) == 3, "the console script is not installed beside the interpreter"
