"""Gateway overhead per call: crewyard's Gateway against a bare LiteLLM Router with the same
model list and settings, and against the raw `openai` client, all three calling one
tests/fakellm (50 ms reply latency) that runs in its own process, so its threads do not take
the clients' GIL. Sequential calls, interleaved in blocks that rotate the clients' order,
give per-call latency p50/p95; then the same number of calls at concurrency 16 and 64
(asyncio, interleaved the same way) give throughput, and this process's CPU per call.
Targets: ours adds ≤ 1 ms p50 over the bare Router, and its throughput at both concurrencies
is ≥ 0.8× the raw client's.

    .venv/bin/python bench/gateway_overhead.py [calls] [sequential calls, default: calls]
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this tree's crewyard, not the installed one
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ["BENCH_KEY"] = "bench-key"

import litellm
import openai
from litellm.router import Router

from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable

LATENCY = 0.05
CONCURRENCY = (16, 64)
TARGET = 0.8  # ours/raw throughput
BLOCK = 50  # sequential calls per client per turn
ROUNDS = 10  # concurrent bursts per client, interleaved
WARMUP = 10
RAW, ROUTER, OURS = "raw openai client", "bare LiteLLM Router", "crewyard Gateway"
MESSAGES = [{"role": "user", "content": "Say pong."}]
# The fake server in a child process; stdin takes "add N" (N more replies) and "check"
# (answers "<unused replies> <violations>"); EOF stops it. (fakellm answers with
# TCP_NODELAY, as real providers do; a listen backlog of 5, http.server's default, drops
# connections when 64 open at once.)
SERVER = """
import socketserver, sys
socketserver.TCPServer.request_queue_size = 256
from tests.fakellm import FakeLLM
fake = FakeLLM(latency=float(sys.argv[1])).start()
print(fake.url, flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "add":
        fake.add(*["pong"] * int(arg))
    elif cmd == "check":
        print(fake.unused, len(fake.violations), flush=True)
fake.stop()
"""


class Server:
    """tests/fakellm in a separate Python process, scripted over a pipe."""

    def __init__(self, latency: float) -> None:
        cmd, pipe = [sys.executable, "-c", SERVER, str(latency)], subprocess.PIPE
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=pipe, stdout=pipe, text=True)
        assert self.proc.stdin and self.proc.stdout
        self.pipe, self.answers = self.proc.stdin, self.proc.stdout
        self.url = self.answers.readline().strip()

    def add(self, n: int) -> None:
        self.pipe.write(f"add {n}\n")
        self.check()  # the replies are in place before the calls start

    def check(self) -> tuple[int, int]:
        self.pipe.write("check\n")
        self.pipe.flush()
        unused, violations = self.answers.readline().split()
        return int(unused), int(violations)


def clients(url: str, models: Path) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """name → (one sync call, one async call), all sending the same request body."""
    raw = openai.OpenAI(base_url=url, api_key="bench-key", max_retries=0, timeout=600.0)
    araw = openai.AsyncOpenAI(base_url=url, api_key="bench-key", max_retries=0, timeout=600.0)
    # What the gateway's Router (gateway/router.py) holds for this alias: one deployment with
    # its timeout, no fallbacks, num_retries=0; the call carries the temperature.
    params = {"model": "openai/fake-model", "api_base": url, "api_key": "bench-key"}
    deployment = {"model_name": "standard", "litellm_params": {**params, "timeout": 600.0}}
    router = Router(model_list=[deployment], fallbacks=[], num_retries=0)
    gateway = Gateway(ModelTable.load(models, env={}), cache=None).for_run()  # as runs call it
    call = {"messages": MESSAGES, "temperature": 0.2}
    return {
        RAW: (
            lambda: raw.chat.completions.create(model="fake-model", **call),
            lambda: araw.chat.completions.create(model="fake-model", **call),
        ),
        ROUTER: (
            lambda: router.completion(model="standard", **call),
            lambda: router.acompletion(model="standard", **call),
        ),
        OURS: (
            lambda: gateway.complete("standard", MESSAGES),
            lambda: gateway.acomplete("standard", MESSAGES),
        ),
    }


class LiteLLMClock:
    """Seconds spent inside litellm.completion since `inside` was zeroed: the rest of a
    Gateway call is crewyard's own time, steadier than a difference of two noisy p50s."""

    def __init__(self) -> None:
        self.inside, inner = 0.0, litellm.completion

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.inside += time.perf_counter() - started

        litellm.completion = timed


def rotated(names: list[str], turn: int) -> list[str]:
    return names[turn % len(names) :] + names[: turn % len(names)]


def sequential(
    server: Server, fns: dict[str, Callable[[], Any]], calls: int, clock: LiteLLMClock
) -> tuple[dict[str, list[float]], list[float]]:
    """Per-call seconds for each client, and the Gateway's calls' time outside the Router."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    outside: list[float] = []
    for turn in range(-(-calls // BLOCK)):
        for name in rotated(list(fns), turn):
            n = min(BLOCK, calls - len(samples[name]))
            server.add(n)
            for _ in range(n):
                clock.inside = 0.0
                started = time.perf_counter()
                fns[name]()
                samples[name].append(time.perf_counter() - started)
                if name == OURS and clock.inside:
                    outside.append(samples[name][-1] - clock.inside)
    return samples, outside


async def concurrent(
    server: Server, fns: dict[str, Callable[[], Awaitable[Any]]], calls: int, concurrency: int
) -> dict[str, tuple[float, float]]:
    """(calls/s, CPU ms per call) at concurrency, each client's calls split into ROUNDS
    interleaved bursts. This process's CPU per call is what caps a client's rate when the
    cores are busy (the server's CPU is its own process's)."""

    async def burst(fn: Callable[[], Awaitable[Any]], n: int) -> float:
        todo, started = iter(range(n)), time.perf_counter()

        async def worker() -> None:  # `concurrency` of these share one to-do list
            for _ in todo:
                await fn()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started

    for fn in fns.values():  # open the connection pools before timing
        server.add(concurrency)
        await burst(fn, concurrency)
    spent, cpu = dict.fromkeys(fns, 0.0), dict.fromkeys(fns, 0.0)
    for turn in range(ROUNDS):
        n = calls // ROUNDS + (turn < calls % ROUNDS)
        for name in rotated(list(fns), turn):
            server.add(n)
            started = time.process_time()
            spent[name] += await burst(fns[name], n)
            cpu[name] += time.process_time() - started
    return {name: (calls / spent[name], cpu[name] / calls * 1000) for name in fns}


async def every_concurrency(
    server: Server, fns: dict[str, Callable[[], Awaitable[Any]]], calls: int
) -> dict[int, dict[str, tuple[float, float]]]:
    # one event loop for all: the async clients' connections belong to the loop that opened them
    return {c: await concurrent(server, fns, calls, c) for c in CONCURRENCY}


def ms(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def main(calls: int = 1000, serial: int | None = None) -> None:
    serial = calls if serial is None else serial
    server = Server(LATENCY)
    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models.yaml"
        alias = {"model": "openai/fake-model", "api_base": server.url, "api_key_env": "BENCH_KEY"}
        models.write_text(json.dumps({"aliases": {"standard": {**alias, "temperature": 0.2}}}))
        clock, fns = LiteLLMClock(), clients(server.url, models)
        sync = {name: pair[0] for name, pair in fns.items()}
        sequential(server, sync, WARMUP, clock)
        seq, outside = sequential(server, sync, serial, clock)
        afns = {n: p[1] for n, p in fns.items()}
        rates = asyncio.run(every_concurrency(server, afns, calls))
    unused, violations = server.check()
    server.pipe.close()
    assert (unused, violations) == (0, 0), f"fakellm: {unused} unused, {violations} violations"

    print(
        f"gateway overhead per call, fakellm at {LATENCY * 1000:.0f} ms in its own process, "
        f"{serial} sequential and {calls} concurrent calls per client, interleaved "
        f"(litellm {version('litellm')}, openai {version('openai')})"
    )
    heads = "".join(f"  c={c:<2} calls/s (CPU ms)" for c in CONCURRENCY)
    print(f"  {'':<20} p50 ms  p95 ms   over raw p50 / p95{heads}")
    for name, values in seq.items():
        p50, p95 = ms(values, 50), ms(values, 95)
        over = f"{p50 - ms(seq[RAW], 50):+6.1f} / {p95 - ms(seq[RAW], 95):+6.1f}"
        cells = "".join(
            f"  {rates[c][name][0]:13.1f} ({rates[c][name][1]:4.2f})" for c in CONCURRENCY
        )
        print(f"  {name:<20} {p50:6.1f}  {p95:6.1f}   {over:>19}{cells}")
    if outside:
        own = f"p50 {ms(outside, 50):.2f} ms, p95 {ms(outside, 95):.2f} ms"
        print(f"  Gateway's own time per call (outside litellm.completion): {own}")
    added = ms(seq[OURS], 50) - ms(seq[ROUTER], 50)
    met = {True: "met", False: "not met"}
    print(f"  ours − Router p50 = {added:+.2f} ms (target ≤ 1 ms): {met[added <= 1.0]}")
    for c in CONCURRENCY:
        raw = rates[c][RAW][0]
        ratio, router = rates[c][OURS][0] / raw, rates[c][ROUTER][0] / raw
        print(
            f"  c={c}: ours/raw = {ratio:.2f}× (target ≥ {TARGET}: {met[ratio >= TARGET]}), "
            f"Router/raw = {router:.2f}×"
        )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
