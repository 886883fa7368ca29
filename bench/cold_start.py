"""Cold start: `main.py --list` and `--dry-run` against `python -c "import crewai"`, side by
side in one run (median of N alternating rounds). Target: both ≤ 0.3× the CrewAI import.

    .venv/bin/python bench/cold_start.py [rounds]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    **os.environ,
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
}
COMMANDS = {
    "import crewai": [sys.executable, "-c", "import crewai"],
    "main.py --list": [sys.executable, "main.py", "--list"],
    "main.py --dry-run": [
        sys.executable,
        "main.py",
        "--crew",
        "research",
        "--dry-run",
        "--input",
        "topic=x",
    ],
}


def timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - started


def main(rounds: int = 7) -> None:
    for cmd in COMMANDS.values():  # warm the OS file cache once for every command
        timed(cmd)
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, cmd in COMMANDS.items():
            samples[name].append(timed(cmd))
    base = statistics.median(samples["import crewai"])
    print(f"cold start, median of {rounds} rounds (target: ≤ 0.30× import crewai)")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"  {name:<20} {median * 1000:7.0f} ms   {median / base:5.2f}× import crewai")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
