"""Batch throughput: 200 items of a two-call crew at concurrency 16 against tests/fakellm
answering in 200 ms (in a process of its own), side by side in one run:

- ideal: calls × latency / concurrency;
- crewyard's durable batch (DBOS on SQLite), in one process;
- CrewAI's own `kickoff_for_each_async` on the same crew and load;
- the durable layer's own cost per item: the same items through the batch vs through a plain
  thread pool of Dispatcher.run calls, at zero latency (SQLite, and Postgres when reachable);
- two `python main.py worker` processes against one Postgres vs one (throughput ratio).

Targets (issue 11): batch ≤ 1.2× ideal; two workers ≥ 1.8× one.

    .venv/bin/python bench/batch_throughput.py [items]
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
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
os.environ["BENCH_KEY"] = "bench-key"

import psycopg
import yaml
from crewai import LLM, Agent, Crew, Process, Task

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.durable import engine
from crewyard.durable.batch import run_batch
from crewyard.durable.items import items_of
from crewyard.runs.batches import BatchStore
from crewyard.settings import Settings

LATENCY = 0.2
CONCURRENCY = 16
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SERVER = """
import sys
from tests.fakellm import FakeLLM
fake = FakeLLM(latency=float(sys.argv[1]), responder=lambda body: "Final Answer: noted").start()
print(fake.url, flush=True)
sys.stdin.read()
fake.stop()
"""
AGENTS = {
    "researcher": {"role": "Researcher", "goal": "Facts on {topic}", "backstory": "Careful."},
    "writer": {"role": "Writer", "goal": "Write on {topic}", "backstory": "Clear."},
}
TASKS = {
    "research": {
        "description": "List facts about {topic}.",
        "expected_output": "Bullets.",
        "agent": "researcher",
    },
    "write": {
        "description": "Write a report on {topic}.",
        "expected_output": "A report.",
        "agent": "writer",
    },
}


class Server:
    def __init__(self, latency: float) -> None:
        cmd, pipe = [sys.executable, "-c", SERVER, str(latency)], subprocess.PIPE
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=pipe, stdout=pipe, text=True)
        assert self.proc.stdout
        self.url = self.proc.stdout.readline().strip()

    def stop(self) -> None:
        assert self.proc.stdin
        self.proc.stdin.close()
        self.proc.wait()


def project(tmp: Path, url: str) -> Settings:
    crews = tmp / "crews"
    folder = crews / "pair"
    folder.mkdir(parents=True)
    crew = {"name": "pair", "inputs": {"topic": {}}, "memory": {"enabled": False}}
    (folder / "crew.yaml").write_text(yaml.safe_dump(crew))
    (folder / "agents.yaml").write_text(yaml.safe_dump(AGENTS))
    (folder / "tasks.yaml").write_text(yaml.safe_dump(TASKS))
    standard = {"model": "openai/fake-model", "api_base": url, "api_key_env": "BENCH_KEY"}
    models = tmp / "models.yaml"
    models.write_text(json.dumps({"aliases": {"standard": {**standard, "num_retries": 0}}}))
    return Settings(data_dir=tmp / "data", crews_dir=crews, models_file=models, cache=False)


def topics(n: int, tag: str) -> list[dict[str, Any]]:
    return [{"topic": f"{tag} topic {i}"} for i in range(n)]


def ours(settings: Settings, n: int, tag: str) -> float:
    spec = load_crew("pair", settings.crews_dir)
    items = items_of(topics(n, tag), spec)
    started = time.perf_counter()
    result = run_batch(settings, spec, items, concurrency=CONCURRENCY)
    elapsed = time.perf_counter() - started
    assert result.counts["done"] == n, result.counts
    return elapsed


def thread_pool(settings: Settings, n: int, tag: str) -> float:
    """The same runs without the durable layer: Dispatcher.run in a plain thread pool."""
    spec = load_crew("pair", settings.crews_dir)
    dispatcher = Dispatcher(settings)
    started = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda t: dispatcher.run(spec, t, record=True), topics(n, tag)))
    return time.perf_counter() - started


def crewai_for_each(url: str, n: int, tag: str) -> float:
    """CrewAI's async kickoff of a copy of the crew per item, CONCURRENCY at a time."""
    llm = LLM(model="openai/fake-model", base_url=url, api_key="bench-key")
    agents = {k: Agent(**v, llm=llm, memory=False) for k, v in AGENTS.items()}
    tasks = [Task(**{**t, "agent": agents[t["agent"]]}) for t in TASKS.values()]
    crew = Crew(agents=list(agents.values()), tasks=tasks, process=Process.sequential)

    async def all_items() -> None:
        sem = asyncio.Semaphore(CONCURRENCY)  # the same concurrency as ours

        async def one(inputs: dict[str, Any]) -> Any:
            async with sem:
                return await crew.copy().kickoff_async(inputs=inputs)

        await asyncio.gather(*(one(t) for t in topics(n, tag)))

    started = time.perf_counter()
    if n <= CONCURRENCY:
        asyncio.run(crew.kickoff_for_each_async(inputs=topics(n, tag)))
    else:
        asyncio.run(all_items())
    return time.perf_counter() - started


def crewai_kickoff_for_each(url: str, n: int, tag: str) -> float:
    """CrewAI's own call: every item at once (it has no concurrency option)."""
    llm = LLM(model="openai/fake-model", base_url=url, api_key="bench-key")
    agents = {k: Agent(**v, llm=llm, memory=False) for k, v in AGENTS.items()}
    tasks = [Task(**{**t, "agent": agents[t["agent"]]}) for t in TASKS.values()]
    crew = Crew(agents=list(agents.values()), tasks=tasks, process=Process.sequential)
    started = time.perf_counter()
    asyncio.run(crew.kickoff_for_each_async(inputs=topics(n, tag)))
    return time.perf_counter() - started


def postgres_database() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as admin:
            name = f"crewyard_bench_{secrets.token_hex(4)}"
            admin.execute(f"CREATE DATABASE {name}")
    except psycopg.Error:
        return None
    return f"postgresql://postgres@127.0.0.1:5432/{name}"


def workers(settings: Settings, url: str, n: int, count: int, tmp: Path) -> float:
    """n items queued (batch --detach), then `count` workers until all are done."""
    env = {
        **os.environ,
        "CREWYARD_DATABASE_URL": url,
        "CREWYARD_CREWS_DIR": str(settings.crews_dir),
        "CREWYARD_MODELS_FILE": str(settings.models_file),
        "CREWYARD_CACHE": "false",
    }
    items = tmp / f"items-{count}.jsonl"
    items.write_text("".join(json.dumps(t) + "\n" for t in topics(n, f"w{count}")))
    submit = ["batch", "--crew", "pair", "--inputs", str(items)]
    subprocess.run(
        [sys.executable, "main.py", *submit, "--concurrency", str(CONCURRENCY), "--detach"],
        cwd=ROOT,
        env={**env, "CREWYARD_DATA_DIR": str(tmp / "submit")},
        check=True,
        capture_output=True,
    )
    store = BatchStore(url)
    batch = store.recent()[0]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "main.py", "worker", "--no-schedules"],
            cwd=ROOT,
            env={**env, "CREWYARD_DATA_DIR": str(tmp / f"w{count}-{i}")},
            stderr=subprocess.DEVNULL,
        )
        for i in range(count)
    ]
    while store.counts(batch.id)["done"] < n:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)
    store.close()
    return elapsed


def main(n: int = 200) -> None:
    logging.getLogger("crewai").setLevel(logging.ERROR)
    ideal = n * 2 * LATENCY / CONCURRENCY
    server = Server(LATENCY)
    try:
        with tempfile.TemporaryDirectory() as tmp_name:
            tmp = Path(tmp_name)
            settings = project(tmp, server.url)
            ours(settings, 8, "warm")  # imports, DBOS launch, connections
            crewai_for_each(server.url, 8, "warm")
            o1 = ours(settings, n, "a")
            c1 = crewai_for_each(server.url, n, "b")
            o2 = ours(settings, n, "c")
            c2 = crewai_for_each(server.url, n, "d")
            k = crewai_kickoff_for_each(server.url, n, "e")
            o, c = min(o1, o2), min(c1, c2)
            print(
                f"batch of {n} two-call items, concurrency {CONCURRENCY}, fakellm at "
                f"{LATENCY * 1000:.0f} ms (ideal {ideal:.1f} s; target ≤ 1.2× ideal)"
            )
            print(f"  crewyard batch (DBOS, SQLite)      {o:6.1f} s  {o / ideal:5.2f}× ideal")
            print(
                f"  CrewAI kickoff_async, c={CONCURRENCY}         {c:6.1f} s  "
                f"{c / ideal:5.2f}× ideal"
            )
            print(
                f"  CrewAI kickoff_for_each_async    {k:6.1f} s  {k / ideal:5.2f}× ideal "
                f"(all {n} at once: it has no concurrency option)"
            )
            engine.shutdown()
            overhead(tmp, server)
    finally:
        server.stop()


def overhead(tmp: Path, server: Server) -> None:
    """The durable layer's own time per item, and workers on Postgres."""
    zero = Server(0.0)
    try:
        n = 60
        base = project(tmp / "zero", zero.url)
        ours(base, 8, "warm0")
        pool = min(thread_pool(base, n, "p1"), thread_pool(base, n, "p2"))
        sqlite = min(ours(base, n, "s1"), ours(base, n, "s2"))
        engine.shutdown()
        print(f"durable layer per item (zero latency, {n} items, c={CONCURRENCY}):")
        print(f"  plain thread pool of Dispatcher.run   {pool / n * 1000:6.1f} ms/item")
        print(
            f"  batch on SQLite                       {sqlite / n * 1000:6.1f} ms/item "
            f"({(sqlite - pool) / n * 1000:+.1f} ms)"
        )
        url = postgres_database()
        if url is None:
            print("  batch on Postgres: not measured (no Postgres at 127.0.0.1:5432)")
            return
        pg = base.model_copy(update={"database_url": url})
        ours(pg, 8, "warm1")
        on_pg = min(ours(pg, n, "g1"), ours(pg, n, "g2"))
        engine.shutdown()
        print(
            f"  batch on Postgres                     {on_pg / n * 1000:6.1f} ms/item "
            f"({(on_pg - pool) / n * 1000:+.1f} ms)"
        )
        settings = project(tmp / "workers", server.url)
        url2 = postgres_database()
        assert url2 is not None
        items = 200
        one = workers(settings, url2, items, 1, tmp)
        two = workers(settings, url2, items, 2, tmp)
        print(
            f"workers on Postgres, {items} items at {LATENCY * 1000:.0f} ms, c={CONCURRENCY} each "
            "(target: two ≥ 1.8× one):"
        )
        print(f"  one worker   {items / one:6.1f} items/s")
        print(f"  two workers  {items / two:6.1f} items/s   {one / two:5.2f}× one")
    finally:
        zero.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
