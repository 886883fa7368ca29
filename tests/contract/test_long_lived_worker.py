"""A worker lives for days: many runs of a research-shaped crew (CrewAI sequential, two tasks,
memory on) through one Dispatcher in one process on tests/fakellm leave nothing of each run
behind — counted, not timed (bench/worker_memory.py measures the RSS curve)."""

from __future__ import annotations

import collections
import gc
import threading
from pathlib import Path
from typing import Any

import pytest
from loguru import logger

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.gateway import router
from crewyard.runs.events import Event, EventKind
from crewyard.settings import Settings
from tests.conftest import standard_at
from tests.fakellm import FakeLLM

RUNS = 30
PER_RUN = ("Crew", "Agent", "Task", "GatewayLLM", "GatewayTool", "RunContext", "EventSink")


def reply(body: dict[str, Any]) -> str:
    system = str(body["messages"][0].get("content") or "")
    if "Writer" in system:
        return "# Report\nA short report.\n\n- point one"
    return "Thought: I know\nFinal Answer: - fact one\n- fact two"


def forget_requests(fake: FakeLLM) -> None:
    """The server's own record of every request is the test's memory, not crewyard's."""
    for kept in (fake.requests, fake.headers, fake.answered):
        kept.clear()


def live(names: tuple[str, ...]) -> collections.Counter[str]:
    gc.collect()
    return collections.Counter(n for o in gc.get_objects() if (n := type(o).__name__) in names)


def test_runs_in_one_process_leave_nothing_of_themselves_behind(
    settings: Settings, two_step_crew: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.responder = reply
    standard_at(settings, fakellm.url, monkeypatch, temperature=0.2)
    # native ids (Linux does not hand them out again soon), not Thread objects, which this
    # test would keep alive
    callers: list[int] = []  # the threads CrewAI made model calls from
    counters: list[int] = []  # the threads tokens were counted on
    counted = router.litellm.token_counter

    def spy(*args: Any, **kwargs: Any) -> int:
        counters.append(threading.get_native_id())
        return int(counted(*args, **kwargs))

    def listen(event: Event) -> None:
        if event.kind == EventKind.AGENT_TURN:
            callers.append(threading.get_native_id())

    monkeypatch.setattr(router.litellm, "token_counter", spy)
    spec = load_crew("demo", settings.crews_dir)
    with Dispatcher(settings, listeners=[listen]) as dispatcher:
        for i in range(5):  # warm-up: caches of the libraries fill once
            dispatcher.run(spec, {"topic": f"tides {i}"})
        forget_requests(fakellm)
        gc.collect()
        objects = collections.Counter(type(o).__name__ for o in gc.get_objects())
        handlers = len(logger._core.handlers)
        threads, kept = threading.active_count(), live(PER_RUN)
        for i in range(RUNS):
            result = dispatcher.run(spec, {"topic": f"tides, case {i}"})
            assert result.status == "done"
        forget_requests(fakellm)
        gc.collect()
        kinds = collections.Counter(type(o).__name__ for o in gc.get_objects()) - objects
        grown = kinds.total() / RUNS

        assert live(PER_RUN) == kept, "CrewAI's or crewyard's objects of a run outlived it"
        assert len(logger._core.handlers) == handlers, "a run's log sink was left in place"
        assert threading.active_count() <= threads + 1, "threads pile up run after run"
        # the memory stores a few points a run (dicts and lists of their payloads); a handler,
        # callback or run object kept per run would be hundreds
        assert grown < 40, f"{grown:.0f} more objects alive each run: {kinds.most_common(8)}"
    # CrewAI calls the model from a fresh thread for each task; tiktoken would keep ~190 KB of
    # regex caches for every one of them if tokens were counted there
    assert len(set(callers)) > RUNS, "CrewAI no longer uses fresh threads: revisit this test"
    # CrewAI's pre-call check is answered by an estimate far from the context window; where
    # tokens are counted (near it), they are counted on one thread, whoever asks
    assert len(counters) < RUNS
    for _ in range(8):
        asker = threading.Thread(
            target=dispatcher.gateway.count_tokens, args=("standard", [{"content": "a b"}])
        )
        asker.start()
        asker.join()
    assert len(counters) >= 8
    assert len(set(counters)) == 1, "tokens were counted on the engine's threads"
