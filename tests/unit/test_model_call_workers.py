"""The gateway's sync network calls run on a pool of daemon workers (gateway/stopping.py):
calls reuse idle workers instead of starting a thread each, a worker stuck in an abandoned call
neither blocks later calls nor the interpreter's exit, and idle workers end."""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
import time

import pytest

from crewyard.errors import Interrupted
from crewyard.gateway.stopping import DaemonWorkers, Stopping


def test_sequential_calls_run_on_one_reused_worker() -> None:
    stopping = Stopping(DaemonWorkers())
    threads = {stopping.call(threading.get_ident) for _ in range(20)}
    assert threads != {threading.get_ident()}  # not on the caller's thread
    assert len(threads) == 1
    assert stopping.workers.started == 1


def test_concurrent_calls_start_a_worker_only_when_every_one_is_busy() -> None:
    stopping = Stopping(DaemonWorkers())
    width, rounds = 6, 4
    for _ in range(rounds):
        barrier = threading.Barrier(width)  # every call of a round is under way at once
        callers = [
            threading.Thread(target=stopping.call, args=(functools.partial(barrier.wait, 10),))
            for _ in range(width)
        ]
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join(10)
    assert stopping.workers.started == width  # not width * rounds


def test_a_call_returns_its_value_raises_its_error_and_keeps_context_variables() -> None:
    import contextvars

    who: contextvars.ContextVar[str] = contextvars.ContextVar("who", default="nobody")
    who.set("the caller")
    stopping = Stopping(DaemonWorkers())
    assert stopping.call(who.get) == "the caller"
    with pytest.raises(KeyError, match="gone"):
        stopping.call(lambda: {}["gone"])
    assert stopping.call(lambda: 42) == 42  # the worker survived the error


def test_a_stuck_call_is_abandoned_on_stop_and_later_calls_get_another_worker() -> None:
    workers = DaemonWorkers()
    stopping, release = Stopping(workers), threading.Event()
    threading.Timer(0.2, stopping.stop).start()
    started = time.monotonic()
    with pytest.raises(Interrupted):
        stopping.call(lambda: release.wait(60))
    assert time.monotonic() - started < 5
    # another gateway sharing the pool is not held up by the stuck worker
    assert Stopping(workers).call(lambda: "answered") == "answered"
    assert workers.started == 2
    release.set()


def test_idle_workers_end() -> None:
    workers = DaemonWorkers(idle_s=0.05, name="crewyard-test-idle")
    Stopping(workers).call(lambda: None)
    deadline = time.monotonic() + 5
    while any(t.name == "crewyard-test-idle" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the idle worker never ended"
        time.sleep(0.01)
    assert Stopping(workers).call(lambda: "again") == "again"  # a new one starts


EXITS_WITH_A_STUCK_CALL = """
import threading, time
from crewyard.errors import Interrupted
from crewyard.gateway.stopping import Stopping
stopping = Stopping()
threading.Timer(0.2, stopping.stop).start()
try:
    stopping.call(lambda: time.sleep(600))
except Interrupted:
    print("interrupted", flush=True)
"""


def test_the_interpreter_exits_while_a_worker_is_stuck_in_an_abandoned_call() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", EXITS_WITH_A_STUCK_CALL], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, "interrupted"), done.stderr
    assert time.monotonic() - started < 30  # not the stuck call's 600 s
