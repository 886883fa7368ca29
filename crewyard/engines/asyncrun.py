"""Running an engine from synchronous code, notebooks included: Jupyter runs every cell inside
an event loop, where CrewAI refuses to run synchronously and asyncio.run cannot start another
loop — so there the work goes to a worker thread, and the cell waits for it."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class _KeptThreads(ThreadPoolExecutor):
    """The default executor of every run's event loop, kept from one loop to the next: each
    asyncio.run made its own, whose threads were started anew every run (LiteLLM prepares
    each async call in it; a thread start waits for the GIL, several ms a run)."""

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Kept for the next run's loop (its threads end with the process)."""


_THREADS = _KeptThreads(max_workers=32, thread_name_prefix="crewyard-async")


class _RunLoop(asyncio.SelectorEventLoop):
    """A run's event loop, on the kept threads; closing it leaves them to the next."""

    def __init__(self) -> None:
        super().__init__()
        self.set_default_executor(_THREADS)

    async def shutdown_default_executor(self, *args: Any) -> None:
        """Nothing to shut down (asyncio.run would start a thread to do it)."""


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

    def run() -> T:
        with asyncio.Runner(loop_factory=_RunLoop) as runner:
            return runner.run(make())

    return off_the_loop(run)
