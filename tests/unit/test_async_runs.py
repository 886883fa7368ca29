"""An async engine's run is an event loop of its own (engines/asyncrun.py); the threads its
blocking steps (and LiteLLM's call preparation) run on are kept from one run to the next,
and nothing is left running on a loop once its run ends."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from crewyard.engines.asyncrun import run_coroutine

RUN: contextvars.ContextVar[str] = contextvars.ContextVar("run", default="none")


def test_runs_reuse_the_same_threads_and_start_none_to_shut_down() -> None:
    async def one_run(n: int) -> tuple[int, str]:
        RUN.set(f"run {n}")
        ident = await asyncio.to_thread(threading.get_ident)
        return ident, await asyncio.to_thread(RUN.get)

    run_coroutine(lambda: one_run(-1))  # the kept threads exist from here on
    started = threading.Thread.start
    starts: list[str] = []

    def counting(self: threading.Thread) -> None:
        starts.append(self.name)
        started(self)

    threading.Thread.start = counting  # type: ignore[method-assign]
    try:
        results = [run_coroutine(lambda n=n: one_run(n)) for n in range(10)]
    finally:
        threading.Thread.start = started  # type: ignore[method-assign]
    assert [seen for _, seen in results] == [f"run {n}" for n in range(10)]
    assert threading.get_ident() not in {ident for ident, _ in results}
    # no shutdown thread, no executor per run: at most a kept thread more (a run's next step
    # may be handed over just before the last one's thread counts itself idle again)
    assert len(starts) <= 2 and all(name.startswith("crewyard-async") for name in starts)


def test_a_run_ends_with_its_error_and_cancels_what_it_left_behind() -> None:
    left: list[asyncio.Task[None]] = []

    async def failing() -> None:
        left.append(asyncio.ensure_future(asyncio.sleep(60)))
        raise ValueError("the run failed")

    with pytest.raises(ValueError, match="the run failed"):
        run_coroutine(failing)
    assert left[0].cancelled()
