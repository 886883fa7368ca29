"""Running an engine from synchronous code, notebooks included: Jupyter runs every cell inside
an event loop, where CrewAI refuses to run synchronously and asyncio.run cannot start another
loop — so there the work goes to a worker thread, and the cell waits for it."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def off_the_loop(work: Callable[[], T]) -> T:
    """work(), in this thread when no event loop runs here, else in a worker thread (with
    this thread's context variables) while this one waits."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    box: dict[str, Any] = {}
    context = contextvars.copy_context()

    def worker() -> None:
        try:
            box["value"] = context.run(work)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=worker, name="crewyard-run")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run, also from inside a running loop (Jupyter): then in a worker thread."""
    return off_the_loop(lambda: asyncio.run(make()))
