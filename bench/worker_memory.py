"""A worker lives for days: the research crew (CrewAI sequential, 2 tasks, memory on) run N
times in one process through one Dispatcher — one gateway, one embedded memory, one run store,
as a long-lived worker holds them — against tests/fakellm. After the warm-up runs, RSS is
printed every 50 runs, then the growth from after warm-up to the end.
Target: ≤ 10% RSS growth over 1,000 runs.

Then it names what holds the memory: Python objects by type that grew over the measured runs
(gc), and, over a further window traced by tracemalloc (its bookkeeping would inflate the
curve, so it is kept out of it), the allocation sites still alive at the window's end.

    .venv/bin/python bench/worker_memory.py [runs] [--warmup N] [--trace RUNS]
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import logging
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for flag, value in {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}.items():
    os.environ.setdefault(flag, value)

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.settings import Settings
from tests.fakellm import FakeLLM

RESEARCH = "Final Answer: - fact one\n- fact two\n- fact three"
REPORT = "# Report\nA short report.\n\n- point one\n- point two"


def reply(body: dict[str, Any]) -> str:
    """The researcher gets bullets, the writer a report (chosen from the request itself)."""
    system = str(body["messages"][0].get("content") or "")
    return REPORT if "Report writer" in system else RESEARCH


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def object_counts() -> collections.Counter[str]:
    gc.collect()
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


class Worker:
    """One dispatcher and one fake server for every run, as a worker process holds them."""

    def __init__(self, fake: FakeLLM, tmp: Path) -> None:
        models = tmp / "models.yaml"
        standard = {
            "model": "openai/fake-model",
            "api_base": fake.url,
            "api_key_env": "BENCH_KEY",
            "num_retries": 0,
            "temperature": 0.2,
        }
        models.write_text(json.dumps({"aliases": {"standard": standard}}))
        os.environ["BENCH_KEY"] = "bench-key"
        settings = Settings(data_dir=tmp / "data", models_file=models)
        self.fake = fake
        self.dispatcher = Dispatcher(settings)
        self.spec = load_crew("research", ROOT / "crews")
        self.done = 0

    def run(self) -> None:
        topic = f"home solar batteries, case {self.done}"  # a worker sees new inputs each run
        result = self.dispatcher.run(self.spec, {"topic": topic})
        assert result.status == "done", result.error
        self.done += 1
        # the fake server keeps every request it answered: that is the bench's memory, not
        # crewyard's, so it is let go after each run
        for kept in (self.fake.requests, self.fake.headers, self.fake.answered):
            kept.clear()

    def close(self) -> None:
        self.dispatcher.close()


def trace_window(worker: Worker, runs: int, top: int = 12) -> None:
    """Allocation sites made during `runs` more runs and still alive at their end."""
    tracemalloc.start(12)
    gc.collect()
    rss_before = rss_mb()
    before = tracemalloc.take_snapshot()
    for _ in range(runs):
        worker.run()
    gc.collect()
    after = tracemalloc.take_snapshot()
    rss_grew = (rss_mb() - rss_before) * 1024
    tracemalloc.stop()
    skip = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = after.filter_traces(skip).compare_to(before.filter_traces(skip), "traceback")
    grown = [s for s in stats if s.size_diff > 0]
    total = sum(s.size_diff for s in grown)
    print(
        f"\nPython allocations made over {runs} more runs and still alive: {total / 1024:.0f} "
        f"KiB ({total / 1024 / runs:.1f} KiB/run); RSS grew {rss_grew:.0f} KiB meanwhile (the "
        "rest, less tracemalloc's own, is native: C or Rust libraries, allocator slack)"
    )
    for stat in grown[:top]:
        frames = [f for f in stat.traceback if not _stdlib(f.filename)] or list(stat.traceback)
        here = " <- ".join(f"{_short(f.filename)}:{f.lineno}" for f in reversed(frames[-3:]))
        ours = [f for f in stat.traceback if "/crewyard/" in f.filename]
        if ours and ours[0] not in frames[-3:]:  # the outermost call of ours, who asked
            here += f" <- … {_short(ours[0].filename)}:{ours[0].lineno}"
        print(f"  {stat.size_diff / 1024:+8.1f} KiB {stat.count_diff:+6d} blocks  {here}")


def _stdlib(filename: str) -> bool:
    return "site-packages" not in filename and not filename.startswith(str(ROOT))


def _short(filename: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="?", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--trace", type=int, default=50, help="runs traced by tracemalloc")
    args = parser.parse_args()
    logging.getLogger("crewai").setLevel(logging.ERROR)  # its token-estimate warning
    with FakeLLM(responder=reply) as fake, tempfile.TemporaryDirectory() as folder:
        worker = Worker(fake, Path(folder))
        started = time.perf_counter()
        for _ in range(args.warmup):
            worker.run()
        gc.collect()
        base = rss_mb()
        counts_before = object_counts()
        print(
            f"worker memory, research crew x{args.runs} in one process after {args.warmup} "
            "warm-up runs, fakellm, memory on (target: ≤ 10% RSS growth)"
        )
        print(f"  {'runs':>6} {'RSS MB':>8} {'growth':>8}")
        print(f"  {0:>6} {base:8.1f} {0:+7.1f}%")
        for i in range(1, args.runs + 1):
            worker.run()
            if i % args.every == 0 or i == args.runs:
                gc.collect()
                now = rss_mb()
                print(f"  {i:>6} {now:8.1f} {(now / base - 1) * 100:+7.1f}%", flush=True)
        end = rss_mb()
        elapsed = time.perf_counter() - started
        counts_after = object_counts()
        print(
            f"\nRSS {base:.1f} MB -> {end:.1f} MB: {(end / base - 1) * 100:+.1f}% over "
            f"{args.runs} runs ({elapsed / (args.runs + args.warmup) * 1000:.0f} ms/run)"
        )
        grew = (counts_after - counts_before).most_common(12)
        print(f"\nPython objects that grew over the {args.runs} runs (type: count, per run):")
        for name, count in grew:
            print(f"  {name:<32} {count:+8d}  {count / args.runs:+7.2f}")
        if args.trace:
            trace_window(worker, args.trace)
        worker.close()


if __name__ == "__main__":
    main()
