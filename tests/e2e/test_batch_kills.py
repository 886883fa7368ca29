"""A batch killed with SIGKILL again and again, resumed each time: every item ends with exactly
one result, and no model call whose reply the batch had received is made twice.

The kills are placed by the fake model server, not by a clock: at a random request it stops
answering (every reply in flight is dropped), waits for what was answered to be recorded, and
kills the batch process."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crewyard.runs.batches import BatchStore
from crewyard.settings import Settings
from tests.conftest import standard_at
from tests.contract.test_batches import answer, items_csv
from tests.fakellm.server import FakeLLM, Reply

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
KILLS = 20
ITEMS = 30
SETTLE_S = 1.0  # time for a reply already received to reach the run's cassette


class Killer:
    """Answers like the contract tests' server, and kills the batch at the chosen request."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.proc: subprocess.Popen[str] | None = None
        self.countdown = 0
        self.kills = 0
        self.fake: FakeLLM | None = None

    def arm(self, proc: subprocess.Popen[str], requests: int) -> None:
        self.proc, self.countdown = proc, requests

    def respond(self, body: dict[str, Any]) -> Reply:
        if self.proc is not None:
            self.countdown -= 1
            if self.countdown <= 0:
                assert self.fake is not None
                self.fake.paused = True
                threading.Thread(target=self._kill, args=(self.proc,), daemon=True).start()
                self.proc = None  # this reply and those in flight wait, then are dropped
        return answer(body, failing=set())

    def _kill(self, proc: subprocess.Popen[str]) -> None:
        time.sleep(SETTLE_S)
        os.kill(proc.pid, signal.SIGKILL)
        self.kills += 1


def test_twenty_kills_then_resume_run_each_item_once(
    settings: Settings, two_step_crew: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killer = Killer(random.Random(11))
    with FakeLLM(latency=0.05, responder=killer.respond) as fake:
        killer.fake = fake
        standard_at(settings, fake.url, monkeypatch, num_retries=0)
        env = {
            **os.environ,
            "CREWYARD_DATA_DIR": str(settings.data_dir),
            "CREWYARD_CREWS_DIR": str(settings.crews_dir),
            "CREWYARD_MODELS_FILE": str(settings.models_file),
        }
        inputs = items_csv(tmp_path / "topics.csv", ITEMS)
        out = tmp_path / "results.jsonl"
        first = ["batch", "--crew", "demo", "--inputs", str(inputs), "--concurrency", "3"]
        args = [*first, "--out", str(out)]
        batch_id = None
        for _ in range(KILLS):
            proc = _start(args, env)
            killer.arm(proc, killer.rng.randint(1, 4))
            proc.wait(timeout=300)
            fake.paused = False
            assert proc.returncode == -signal.SIGKILL, _said(proc)
            if batch_id is None:
                (batch,) = BatchStore(settings.runs_db).recent()
                batch_id = batch.id
                args = ["batch", "resume", batch_id]
            if out.exists():  # valid JSON lines at every moment, however it was killed
                [json.loads(line) for line in out.read_text().splitlines()]
        assert killer.kills == KILLS
        last = _start(args, env)
        last.wait(timeout=300)
        assert last.returncode == 0, _said(last)

    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["inputs"]["topic"] for r in records) == [f"t{n:02d}" for n in range(ITEMS)]
    assert all(r["status"] == "done" and r["output"].startswith("notes on") for r in records)
    # no reply that reached the batch was asked for again
    asked = Counter(json.dumps(body["messages"], sort_keys=True) for body in fake.answered)
    assert [n for n in asked.values() if n > 1] == []
    assert len(asked) == ITEMS * 2


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _said(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate()
    return f"exit {proc.returncode}\n{out[-2000:]}\n{err[-3000:]}"
