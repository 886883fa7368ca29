"""Batches and workers as processes: SIGTERM mid-batch stops taking items, lets those under way
finish and exits 0, and `batch resume` runs the rest; two workers on one real Postgres share a
queued batch (each item once), and when one is stopped mid-batch the other recovers what it
left. Each process has a data folder of its own, as on separate machines."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crewyard.runs.batches import BatchStore
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import standard_at
from tests.contract.test_batches import answer, items_csv
from tests.fakellm.server import FakeLLM
from tests.pg import fresh_database

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def env_for(settings: Settings, data: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CREWYARD_DATA_DIR": str(data),
        "CREWYARD_CREWS_DIR": str(settings.crews_dir),
        "CREWYARD_MODELS_FILE": str(settings.models_file),
        **extra,
    }


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def said(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=60)
    return f"exit {proc.returncode}\n{out[-2000:]}\n{err[-3000:]}"


def wait_for(check: Callable[[], bool], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def once_each(fake: FakeLLM, items: int) -> None:
    """Every item's two calls were answered exactly once."""
    asked = Counter(json.dumps(b["messages"], sort_keys=True) for b in fake.answered)
    assert max(asked.values()) == 1 and len(asked) == items * 2


def test_sigterm_mid_batch_exits_0_and_resume_runs_the_rest(
    settings: Settings, two_step_crew: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeLLM(latency=0.4, responder=lambda b: answer(b, set())) as fake:
        standard_at(settings, fake.url, monkeypatch, num_retries=0)
        env = env_for(settings, settings.data_dir)
        inputs = items_csv(tmp_path / "topics.csv", 8)
        out = tmp_path / "results.jsonl"
        args = ["batch", "--crew", "demo", "--inputs", str(inputs), "--concurrency", "2"]
        batch = start([*args, "--out", str(out)], env)
        wait_for(lambda: len(fake.answered) >= 3)
        batch.send_signal(signal.SIGTERM)
        assert batch.wait(timeout=60) == 0, said(batch)
        _, err = batch.communicate()
        assert "stopped: python main.py batch resume" in err
        store = BatchStore(settings.run_store)
        (recorded,) = store.recent()
        items = store.items(recorded.id)
        assert not [i for i in items if i.status == "running"]  # those under way finished
        left = [i for i in items if i.status == "queued"]
        assert left and len(left) < 8
        resumed = start(["batch", "resume", recorded.id], env)
        assert resumed.wait(timeout=300) == 0, said(resumed)
    assert {i.status for i in store.items(recorded.id)} == {"done"}
    once_each(fake, 8)
    assert len(out.read_text().splitlines()) == 8


def test_two_workers_on_postgres_share_a_queued_batch(
    settings: Settings, two_step_crew: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = 24
    with (
        fresh_database() as url,
        FakeLLM(latency=0.3, responder=lambda b: answer(b, set())) as fake,
    ):
        standard_at(settings, fake.url, monkeypatch, num_retries=0)
        shared: dict[str, Any] = {"CREWYARD_DATABASE_URL": url}
        inputs = items_csv(tmp_path / "topics.csv", items)
        queued = start(
            ["batch", "--crew", "demo", "--inputs", str(inputs), "--concurrency", "2", "--detach"],
            env_for(settings, tmp_path / "submitter", **shared),
        )
        assert queued.wait(timeout=120) == 0, said(queued)
        workers = [
            start(
                ["worker", "--no-schedules", "--grace", "20"],
                env_for(
                    settings, tmp_path / f"machine-{n}", CREWYARD_WORKER_ID=f"machine-{n}", **shared
                ),
            )
            for n in (1, 2)
        ]
        store = BatchStore(url)
        (batch,) = store.recent()

        def done() -> int:
            return int(store.counts(batch.id)["done"])

        wait_for(lambda: done() >= 6)
        workers[0].send_signal(signal.SIGTERM)  # the other recovers what it leaves
        assert workers[0].wait(timeout=60) == 0, said(workers[0])
        wait_for(lambda: done() == items)
        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(timeout=60) == 0, said(workers[1])
        runs = RunStore(url)
        pids = {row["pid"] for row in runs.query("SELECT pid FROM runs")}
        statuses = {i.status for i in store.items(batch.id)}
    assert statuses == {"done"}
    once_each(fake, items)
    assert len(pids) == 2  # both workers ran items
