"""A crew whose model refuses it (401) fails on the console in a line or two — what failed,
which alias, the provider's words — on both engines; the tracebacks go to the run's log file,
never to the console or the run record."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crewyard.settings import Settings
from tests.fakellm import FakeLLM, Reply

ROOT = Path(__file__).resolve().parents[2]
AGENTS = {
    "pro": {"role": "Proposer", "goal": "g", "backstory": "b", "max_retry_limit": 0},
    "con": {"role": "Critic", "goal": "g", "backstory": "b", "max_retry_limit": 0},
    "judge": {"role": "Judge", "goal": "g", "backstory": "b", "max_retry_limit": 0},
}


@pytest.mark.parametrize("process", ["sequential", "debate"])
def test_a_refused_model_fails_in_one_line_with_the_traceback_in_the_log_only(
    process: str, settings: Settings, make_crew: Any, fakellm: FakeLLM
) -> None:
    extra = {"engine_options": {"rounds": 1}} if process == "debate" else {}
    make_crew(
        "refused",
        crew={"process": process, "memory": {"enabled": False}, **extra},
        agents=AGENTS,
        tasks={"q": {"description": "Decide", "expected_output": "x", "agent": "judge"}},
    )
    fakellm.add(*[Reply(status=401, error="bad key for this model") for _ in range(3)])
    fakellm.allow_unused()
    alias = {"model": "openai/x", "api_base": fakellm.url, "api_key_env": "K", "num_retries": 0}
    settings.models_file.write_text(json.dumps({"aliases": {"standard": alias}}))
    env = {
        **os.environ,
        "K": "key-123456789",
        "CREWYARD_DATA_DIR": str(settings.data_dir),
        "CREWYARD_CREWS_DIR": str(settings.crews_dir),
        "CREWYARD_MODELS_FILE": str(settings.models_file),
    }
    done = subprocess.run(
        [sys.executable, "main.py", "--crew", "refused"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    assert (
        "failed: model alias 'standard' (openai/x) failed: AuthenticationError: "
        "bad key for this model" in done.stderr
    )
    with sqlite3.connect(settings.runs_db) as db:
        (error,) = db.execute("SELECT error FROM runs").fetchone()
    assert "Traceback" not in error and "AuthenticationError" in error
    (log,) = settings.logs_dir.glob("*.jsonl")
    assert "Traceback" in log.read_text()
