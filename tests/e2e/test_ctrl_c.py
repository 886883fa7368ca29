"""Ctrl-C stops a run now: SIGINT to `python main.py --crew …` while a model call waits for a
reply that takes 30 s ends the process within 2 s of the signal, with exit code 130, the run
recorded as interrupted and the tasks finished before it kept — for a CrewAI crew and for an
AutoGen debate."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import standard_at
from tests.contract.test_autogen_engine import DEBATERS
from tests.contract.test_resume import DEBATE_TASKS
from tests.e2e.test_resume_kills import _start
from tests.fakellm.server import FakeLLM, Reply

pytestmark = pytest.mark.e2e
SLOW_REPLY_S = 30.0  # the reply the run is waiting for when the signal comes
STOPS_WITHIN_S = 2.0  # from the signal to the process's exit (issue 15)
STARTS_WITHIN_S = 240.0  # generous: a loaded machine imports the engines slowly


class SlowAfter:
    """Quick numbered replies for the first `quick` requests, then replies that take 30 s."""

    def __init__(self, quick: int) -> None:
        self.quick = quick
        self.count = itertools.count(1)

    def respond(self, body: dict[str, Any]) -> Reply:
        n = next(self.count)
        return Reply(text=f"Final Answer: reply {n}", latency=0.0 if n <= self.quick else 30.0)


def interrupted_mid_call(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, args: list[str], quick: int
) -> tuple[float, int, str]:
    """Start the run, wait until its slow call has reached the server, send SIGINT: (seconds
    from the signal to the exit, exit code, stderr)."""
    slow = SlowAfter(quick)
    with FakeLLM(responder=slow.respond) as fake:
        standard_at(settings, fake.url, monkeypatch, num_retries=0, timeout=60)
        env = {
            **os.environ,
            "CREWYARD_DATA_DIR": str(settings.data_dir),
            "CREWYARD_CREWS_DIR": str(settings.crews_dir),
            "CREWYARD_MODELS_FILE": str(settings.models_file),
        }
        proc = _start(args, env)
        try:
            started = time.monotonic()
            while len(fake.requests) <= quick:  # the slow call has not arrived yet
                assert proc.poll() is None, f"exit {proc.returncode}: {proc.communicate()}"
                assert time.monotonic() - started < STARTS_WITHIN_S, "the slow call never came"
                time.sleep(0.01)
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=SLOW_REPLY_S * 2)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
            stopped_after = time.monotonic() - sent
            _, err = proc.communicate()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return stopped_after, proc.returncode, err


def test_ctrl_c_stops_a_crewai_run_mid_call_and_keeps_its_finished_task(
    settings: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["--crew", "demo", "--input", "topic=x"]
    stopped_after, code, err = interrupted_mid_call(settings, monkeypatch, args, quick=1)
    assert code == 130, err
    assert stopped_after < STOPS_WITHIN_S, f"stopped {stopped_after:.2f} s after the signal"
    (run,) = RunStore(settings.runs_db).recent()
    assert (run.status, run.error) == ("interrupted", "stopped by the user (Ctrl-C)")
    checkpoints = RunStore(settings.runs_db).checkpoints(run.id)
    assert [(c.task, c.output) for c in checkpoints] == [("research", "reply 1")]
    assert (
        f"kept 1 finished task output(s): research; go on: python main.py --resume {run.id}" in err
    )


def test_ctrl_c_stops_a_debate_mid_call_and_keeps_its_finished_task(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(
        "debate",
        crew={"process": "debate", "inputs": {"question": {}}, "engine_options": {"rounds": 2}},
        agents=DEBATERS,
        tasks=DEBATE_TASKS,
    )
    args = ["--crew", "debate", "--input", "question=Tea?"]
    # the first task takes 5 calls (4 turns and the verdict); the second's first one is slow
    stopped_after, code, err = interrupted_mid_call(settings, monkeypatch, args, quick=5)
    assert code == 130, err
    assert stopped_after < STOPS_WITHIN_S, f"stopped {stopped_after:.2f} s after the signal"
    (run,) = RunStore(settings.runs_db).recent()
    assert run.status == "interrupted"
    checkpoints = RunStore(settings.runs_db).checkpoints(run.id)
    assert [(c.task, c.output) for c in checkpoints] == [("first", "Final Answer: reply 5")]
    assert "kept 1 finished task output(s): first" in err
