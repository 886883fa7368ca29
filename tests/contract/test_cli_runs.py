"""python main.py running crews for real (CrewAI, scripted model): the run, then runs list and
show; a failed run's exit code and what it kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.settings import Settings
from tests.conftest import cli_uses


@pytest.fixture
def env(settings: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    cli_uses(settings, monkeypatch)
    return settings


def test_run_then_runs_list_and_show(
    env: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    models = {
        "aliases": {
            "standard": {"model": "scripted/main", "script": ["Final Answer: facts", "# Report"]}
        }
    }
    env.models_file.write_text(json.dumps(models))
    out_file = tmp_path / "final.md"
    assert main(["--crew", "demo", "--input", "topic=tides", "--output", str(out_file)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == "# Report"
    assert out_file.read_text() == "# Report"
    assert "report: " in captured.err and "report.md" in captured.err
    assert "run record: " in captured.err
    run_id = captured.err.split("runs show ")[1].split(")")[0]

    assert main(["runs"]) == 0
    assert run_id in capsys.readouterr().out
    assert main(["runs", "show", run_id]) == 0
    shown = capsys.readouterr().out
    assert "## research (researcher)" in shown and "facts" in shown
    assert main(["runs", "show", run_id, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == "done" and len(data["model_calls"]) == 2


def test_failed_run_exits_1_and_says_what_was_kept(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    models = {"aliases": {"standard": {"model": "scripted/main", "script": ["Final Answer: a"]}}}
    env.models_file.write_text(json.dumps(models))
    assert main(["--crew", "demo", "--input", "topic=x"]) == 1
    err = capsys.readouterr().err
    assert "model alias 'standard'" in err
    assert "kept 1 finished task output(s): research" in err


STYLE = re.compile(r"\x1b\[[0-9;]*m")  # a colour or style escape


def test_the_progress_of_a_run_follows_color_and_no_color(
    env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    script = ["Final Answer: facts", "# Report"]
    models = {"aliases": {"standard": {"model": "scripted/main", "script": script * 2}}}
    env.models_file.write_text(json.dumps(models))
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main(["--color", "always", "--crew", "demo", "--input", "topic=tides"]) == 0
    out, err = capsys.readouterr()
    assert STYLE.search(err) and "▶ demo" in err and not STYLE.search(out)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")  # Rich takes stderr for a terminal: still no colour
    assert main(["--crew", "demo", "--input", "topic=tides"]) == 0
    err = capsys.readouterr().err
    assert "▶ demo" in err and not STYLE.search(err)
