"""`python main.py new NAME` as a new user runs it: the scaffolded crew passes --dry-run and runs
at once (no input given) on the embedded model, with no connection beyond loopback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_example_crews import run_main

pytestmark = pytest.mark.e2e


def test_a_new_crew_runs_at_once_on_the_embedded_model(tmp_path: Path) -> None:
    crews = tmp_path / "crews"
    env = {"CREWYARD_CREWS_DIR": str(crews)}
    made = run_main(["new", "market_watch"], tmp_path, **env)
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (crews / "market_watch").iterdir()) == [
        "agents.yaml",
        "crew.yaml",
        "tasks.yaml",
    ]
    again = run_main(["new", "market_watch"], tmp_path, **env)
    assert again.returncode == 2 and "exists already" in again.stderr

    plan = run_main(["--crew", "market_watch", "--dry-run"], tmp_path, **env)
    assert plan.returncode == 0, plan.stderr
    assert "1. research_task (researcher)" in plan.stdout

    done = run_main(["--crew", "market_watch"], tmp_path, **env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()
    assert "reporting_task done → report.md" in done.stderr
    db = sqlite3.connect(tmp_path / "data" / "runs.sqlite3")
    assert db.execute("SELECT crew, status FROM runs").fetchall() == [("market_watch", "done")]
    net_log = tmp_path / "netguard.log"
    assert not net_log.exists() or net_log.read_text() == ""
