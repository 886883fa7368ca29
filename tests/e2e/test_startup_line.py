"""`python main.py --crew … -v` tells how long the process took before its first model call,
and where that time went, in one line on stderr."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from crewyard.settings import Settings
from tests.conftest import standard_at
from tests.e2e.test_resume_kills import _start
from tests.fakellm.server import FakeLLM, Reply

pytestmark = pytest.mark.e2e
LINE = re.compile(
    r"start-up: (?P<total>[\d.]+) s before the first model call \(imports and crew files "
    r"(?P<imports>[\d.]+) s, set-up (?P<setup>[\d.]+) s, memory (?P<memory>[\d.]+) s, "
    r"engine and model libraries (?P<engine>[\d.]+) s, of which imports: (?P<libraries>[^)]*)\)"
)


def test_verbose_run_tells_its_start_up_time_before_the_first_model_call(
    settings: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arrived: list[float] = []

    def respond(body: object) -> Reply:
        arrived.append(time.monotonic())
        return Reply(text="Final Answer: done")

    with FakeLLM(responder=respond) as fake:
        standard_at(settings, fake.url, monkeypatch, num_retries=0)
        env = {
            **os.environ,
            "CREWYARD_DATA_DIR": str(settings.data_dir),
            "CREWYARD_CREWS_DIR": str(settings.crews_dir),
            "CREWYARD_MODELS_FILE": str(settings.models_file),
        }
        started = time.monotonic()
        proc = _start(["--crew", "demo", "--input", "topic=x", "-v"], env)
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    lines = [m for m in map(LINE.search, err.splitlines()) if m]
    assert len(lines) == 1, err  # told once, for the first call only
    libraries = dict(
        (name, float(seconds))
        for name, seconds in re.findall(r"(\w+) ([\d.]+) s", lines[0]["libraries"])
    )
    told = {k: float(v) for k, v in lines[0].groupdict().items() if k != "libraries"}
    parts = told["imports"] + told["setup"] + told["memory"] + told["engine"]
    assert told["total"] == pytest.approx(parts, abs=0.03)  # the parts add up
    assert told["engine"] > 0 and told["imports"] > 0
    # no longer than the test saw from starting the process to the first request arriving
    assert told["total"] <= arrived[0] - started + 0.05
    assert len(arrived) == 2
    # the engine's and the gateway's libraries are named; a data folder that never held
    # memory recalls nothing, so Qdrant and the embedder waited until the run wrote to it
    assert set(libraries) == {"CrewAI", "LiteLLM"}, lines[0].group(0)
    assert sum(libraries.values()) <= told["engine"] + 0.02
    assert (settings.data_dir / "qdrant").is_dir()
