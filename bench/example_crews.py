"""Success rate and wall time per run of each shipped example crew on the embedded model
(SmolLM2-135M through llama.cpp), each run as a user runs it: `python main.py --crew …` in a
fresh data folder. Target: 20/20 for every crew.

    .venv/bin/python bench/example_crews.py [runs] [crew …]

Not measured yet: a plain CrewAI crew of the same shape on the same llama.cpp model for the
wall-time ratio (CrewAI has no llama.cpp client of its own; the peer needs one written)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_example_crews_repeat import CREWS
from tests.e2e.test_planning_crews import CREWS as PLANNING_CREWS


def inputs(crew: str, number: int) -> list[str]:
    """The run's --input values: the crew's own, or a planning crew's nth item."""
    if crew in PLANNING_CREWS:
        key, values, _ = PLANNING_CREWS[crew]
        return [f"{key}={values[number % len(values)]}"]
    return CREWS[crew]


def one_run(crew: str, data: Path, number: int) -> tuple[bool, float, str]:
    args = [sys.executable, "main.py", "--crew", crew]
    for given in inputs(crew, number):
        args += ["--input", given]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWYARD_")}
    started = time.perf_counter()
    done = subprocess.run(
        args,
        cwd=ROOT,
        env={**env, "CREWYARD_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    tail = done.stderr.strip().splitlines()[-1:] if done.returncode else []
    return done.returncode == 0, time.perf_counter() - started, " ".join(tail)[:200]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    crews = sys.argv[2:] or [*CREWS, *PLANNING_CREWS]
    with tempfile.TemporaryDirectory() as tmp:
        for crew in crews:
            results = [one_run(crew, Path(tmp) / f"{crew}-{i}", i) for i in range(runs)]
            ok = sum(r[0] for r in results)
            times = [r[1] for r in results]
            print(
                f"{crew:12} {ok}/{runs} succeeded; wall per run median "
                f"{statistics.median(times):.1f} s (min {min(times):.1f}, max {max(times):.1f})",
                flush=True,
            )
            for good, _, why in results:
                if not good:
                    print(f"  failed: {why}", flush=True)


if __name__ == "__main__":
    main()
