"""`python main.py --crew research` as a user runs it: a subprocess on the embedded model,
with every connection beyond loopback blocked and recorded."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def run_main(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREWYARD_")},
        "CREWYARD_DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(ROOT / "tests" / "netguard"),
        "CREWYARD_NETGUARD_LOG": str(tmp_path / "netguard.log"),
        **env,
    }
    for flag in (
        "CREWAI_DISABLE_TELEMETRY",
        "OTEL_SDK_DISABLED",
        "CREWAI_TRACING_ENABLED",
        "CREWAI_DISABLE_TRACKING",
        "LITELLM_LOCAL_MODEL_COST_MAP",
    ):
        full_env.pop(flag, None)  # the app must turn these off itself
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_research_crew_runs_end_to_end_on_the_local_model(tmp_path: Path) -> None:
    done = run_main(["--crew", "research", "--input", "topic=home solar batteries"], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()
    assert "researcher is working on research_topic" in done.stderr
    assert "write_report done → report.md" in done.stderr
    report = next((tmp_path / "data" / "outputs").glob("*/report.md"))
    assert report.read_text().strip()
    db = sqlite3.connect(tmp_path / "data" / "runs.sqlite3")
    status, usage = db.execute("SELECT status, usage FROM runs").fetchone()
    assert status == "done"
    tokens = json.loads(usage)
    assert tokens["prompt_tokens"] > 0 and tokens["completion_tokens"] > 0
    tasks = [r[0] for r in db.execute("SELECT task FROM checkpoints ORDER BY seq")]
    assert tasks == ["research_topic", "write_report"]
    # the whole run opened no connection beyond loopback (CrewAI telemetry included)
    net_log = tmp_path / "netguard.log"
    assert not net_log.exists() or net_log.read_text() == ""


def test_bad_crew_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    crews = tmp_path / "crews" / "broken"
    crews.mkdir(parents=True)
    (crews / "crew.yaml").write_text("name: broken\nproces: sequential\n")
    done = run_main(
        ["--crew", "broken", "--dry-run"], tmp_path, CREWYARD_CREWS_DIR=str(tmp_path / "crews")
    )
    assert done.returncode == 2
    assert f"{crews / 'crew.yaml'}:2: proces: unknown key 'proces'" in done.stderr
    assert "did you mean 'process'?" in done.stderr
    assert "Traceback" not in done.stderr


# The other example crews (launch_plan, debate, coding) run as the README shows them:
# tests/e2e/test_readme.py runs each README command and checks its run record and files.
