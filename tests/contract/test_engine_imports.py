"""The engines' libraries are imported without a trace in the caller's environment, and CrewAI's
telemetry stays off for the whole process even though its switches were only set for the
import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json, os
before = dict(os.environ)
import crewyard.engines.crewai_engine, crewyard.engines.autogen_engine, crewyard.gateway.router
from crewai_core.telemetry import Telemetry
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({"env_changed": changed, "telemetry_ready": Telemetry().ready}))
"""


def test_importing_the_engines_changes_no_environment_variable() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREWAI", "OTEL", "LITELLM_"))}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"env_changed": [], "telemetry_ready": False}
