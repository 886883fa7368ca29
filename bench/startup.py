"""Start-up: time from process start to the first model request arriving at tests/fakellm, for
`python main.py --crew research` and for a plain CrewAI script of the same crew (same agents
and tasks, crewai.LLM at the fakellm base URL), alternating subprocesses in one run; the
median ratio is printed. Target: crewyard ≤ 1.1× plain CrewAI.

    .venv/bin/python bench/startup.py [rounds]
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plain_crewai import peer_script

from tests.fakellm.server import FakeLLM, Reply

ENV = {
    **os.environ,
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "BENCH_KEY": "bench-key",
}
LATENCY = 0.02  # each reply, as in the issue
PLAIN_CREWAI = """
from crewai import LLM
from plain_crewai import crew_from_folder
crew_dir, url = sys.argv[1], sys.argv[2]
llm = LLM(model="openai/fake-model", base_url=url, api_key="bench-key")
crew_from_folder(crew_dir, llm).kickoff(inputs={"topic": "home solar batteries"})
"""


FRESH_DATA = "<fresh data folder>"
LIBRARY_IMPORT = """
import time
started = time.perf_counter()
import crewyard.gateway.router
print(time.perf_counter() - started)
"""


def litellm_import_s() -> float:
    """LiteLLM's import alone, through crewyard's one importer of it, in a new process."""
    cmd = [sys.executable, "-c", LIBRARY_IMPORT]
    proc = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True, check=True)
    return float(proc.stdout.split()[-1])


class FirstRequest:
    """Answers every request after LATENCY; notes when the first one arrived."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.at = 0.0

    def respond(self, body: dict[str, Any]) -> Reply:
        if not self.arrived.is_set():
            self.at = time.perf_counter()
            self.arrived.set()
        return Reply(text="Final Answer: - a fact\n- another fact", latency=LATENCY)


def to_first_call(fake: FakeLLM, first: FirstRequest, cmd: list[str]) -> float:
    """Seconds from starting cmd to its first request reaching the server (cmd runs to its
    end, which must be a success). A command ending in FRESH_DATA runs on a data folder of its
    own, made anew: a memory that was never made."""
    first.arrived.clear()
    env = ENV
    if cmd[-1] == FRESH_DATA:
        cmd, env = cmd[:-1], {**ENV, "CREWYARD_DATA_DIR": tempfile.mkdtemp(prefix="fresh-")}
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or not first.arrived.is_set():
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return first.at - started


def main(rounds: int = 5) -> None:
    first = FirstRequest()
    with FakeLLM(responder=first.respond) as fake, tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models.yaml"
        point = {"model": "openai/fake-model", "api_base": fake.url, "api_key_env": "BENCH_KEY"}
        aliases = {a: {**point, "num_retries": 0} for a in ("fast", "standard", "smart")}
        models.write_text(json.dumps({"aliases": aliases}))
        script = peer_script(Path(tmp) / "plain_crewai.py", PLAIN_CREWAI)
        ENV.update(
            CREWYARD_MODELS_FILE=str(models),
            CREWYARD_DATA_DIR=str(Path(tmp) / "data"),
            CREWAI_STORAGE_DIR=str(Path(tmp) / "crewai"),
        )
        commands = {
            "plain CrewAI": [sys.executable, str(script), str(ROOT / "crews/research"), fake.url],
            "crewyard": [
                sys.executable,
                "main.py",
                "--crew",
                "research",
                "--input",
                "topic=home solar batteries",
            ],
        }
        # the same, on a data folder whose memory was never made (a first run): nothing to
        # recall, so the store is opened only when the run writes to it
        commands["crewyard, new memory"] = [*commands["crewyard"], FRESH_DATA]
        for cmd in commands.values():  # warms the OS file cache, makes the data folder
            to_first_call(fake, first, cmd)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        litellm: list[float] = []
        for _ in range(rounds):
            for name, cmd in commands.items():
                samples[name].append(to_first_call(fake, first, cmd))
            litellm.append(litellm_import_s())
    base = statistics.median(samples["plain CrewAI"])
    ratios = [o / t for o, t in zip(samples["crewyard"], samples["plain CrewAI"], strict=True)]
    print(
        f"start-up: process start → first model request at fakellm (replies in "
        f"{LATENCY * 1000:.0f} ms), research crew, median of {rounds} rounds "
        "(target: ≤ 1.10× plain CrewAI)"
    )
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:<21} {median:6.2f} s   {median / base:5.2f}× plain CrewAI")
    print(f"  median of the rounds' ratios (crewyard): {statistics.median(ratios):.2f}×")
    alone = statistics.median(litellm)
    print(
        f"  LiteLLM's import alone (which plain CrewAI never does): {alone:.2f} s = "
        f"{alone / base:.2f}× plain CrewAI's whole start-up"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
