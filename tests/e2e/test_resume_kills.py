"""`python main.py --resume RUN_ID` after the run's process was killed with SIGKILL mid-call:
a CrewAI run continues after its last finished task, a debate after its last recorded turn,
and no model call whose reply reached the run is made again."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import standard_at
from tests.contract.test_autogen_engine import DEBATERS
from tests.contract.test_resume import DEBATE_TASKS
from tests.fakellm.server import FakeLLM, Reply

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SETTLE_S = 1.0  # time for a reply already received to reach the run's cassette


class KillAt:
    """Numbered answers; at request `at` the server stops answering and the run is killed."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.count = itertools.count(1)
        self.proc: subprocess.Popen[str] | None = None
        self.fake: FakeLLM | None = None

    def respond(self, body: dict[str, Any]) -> Reply:
        n = next(self.count)
        if self.proc is not None and n == self.at:
            assert self.fake is not None
            self.fake.paused = True
            threading.Thread(target=self._kill, args=(self.proc,), daemon=True).start()
            self.proc = None
        return Reply(text=f"Final Answer: reply {n}")

    def _kill(self, proc: subprocess.Popen[str]) -> None:
        time.sleep(SETTLE_S)
        os.kill(proc.pid, signal.SIGKILL)


def killed_then_resumed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, args: list[str], at: int
) -> tuple[FakeLLM, str]:
    killer = KillAt(at)
    with FakeLLM(latency=0.02, responder=killer.respond) as fake:
        killer.fake = fake
        standard_at(settings, fake.url, monkeypatch, num_retries=0)
        env = {
            **os.environ,
            "CREWYARD_DATA_DIR": str(settings.data_dir),
            "CREWYARD_CREWS_DIR": str(settings.crews_dir),
            "CREWYARD_MODELS_FILE": str(settings.models_file),
        }
        first = _start(args, env)
        killer.proc = first
        first.wait(timeout=300)
        assert first.returncode == -signal.SIGKILL, _said(first)
        fake.paused = False
        (killed,) = RunStore(settings.runs_db).recent()
        again = _start(["--resume", killed.id], env)
        again.wait(timeout=300)
        assert again.returncode == 0, _said(again)
    return fake, killed.id


def test_a_killed_crewai_run_resumes_after_its_finished_task(
    settings: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--crew", "demo", "--input", "topic=x"]
    fake, killed = killed_then_resumed(settings, monkeypatch, args, at=2)
    store = RunStore(settings.runs_db)
    resumed = store.recent()[0]
    assert resumed.status == "done" and resumed.id != killed
    assert [c.task for c in store.checkpoints(killed)] == ["research"]
    outputs = {c.task: c.output for c in store.checkpoints(resumed.id)}
    assert outputs == {"research": "reply 1", "write": "reply 3"}
    # the research call was answered once; the writer's unanswered call was made again
    asked = Counter(json.dumps(b["messages"], sort_keys=True) for b in fake.answered)
    assert len(fake.answered) == 2 and max(asked.values()) == 1
    assert len(fake.requests) == 3


def test_a_killed_debate_resumes_after_its_last_turn(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(
        "debate",
        crew={"process": "debate", "inputs": {"question": {}}, "engine_options": {"rounds": 2}},
        agents=DEBATERS,
        tasks=DEBATE_TASKS,
    )
    # killed at the 8th call: the first task (5 calls) and two turns of the second are done
    args = ["--crew", "debate", "--input", "question=Tea?"]
    fake, killed = killed_then_resumed(settings, monkeypatch, args, at=8)
    store = RunStore(settings.runs_db)
    resumed = store.recent()[0]
    assert resumed.status == "done"
    assert [c.task for c in store.checkpoints(killed)] == ["first"]
    assert [c.task for c in store.checkpoints(resumed.id)] == ["first", "second"]
    asked = Counter(json.dumps(b["messages"], sort_keys=True) for b in fake.answered)
    assert max(asked.values()) == 1  # no answered call was asked for again
    assert len(fake.answered) == 10  # 5 calls a task, each answered once
    turns = [content for *_, content in store.turns(resumed.id)]
    assert turns[:2] == ["Final Answer: reply 6", "Final Answer: reply 7"]  # restored turns


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
