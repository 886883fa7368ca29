"""Stopping a gateway's model calls now (Ctrl-C), instead of waiting for the replies under way.

A call over the network runs on a daemon thread of its own (sync) or as a task (async) that
its caller waits for until it ends or the stop comes: then the caller raises Interrupted at
once, and the abandoned request dies with the process (or when its reply comes). Calls into
this process (the embedded model) are stopped by the provider itself, between two tokens."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from crewyard.errors import Interrupted

T = TypeVar("T")


class Stopping:
    """One gateway's stop: once stop() is called, every call under way and every later one
    raises Interrupted."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._wakers: set[Callable[[], None]] = set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    def stop(self) -> None:
        """Stop now (safe from a signal handler and from any thread)."""
        self.event.set()
        with self._lock:
            wakers = list(self._wakers)
        for wake in wakers:
            wake()

    def check(self) -> None:
        if self.event.is_set():
            raise Interrupted("the model calls were stopped (Ctrl-C)")

    def sleep(self, seconds: float) -> None:
        """time.sleep, cut short by the stop (then Interrupted)."""
        self.event.wait(seconds)
        self.check()

    def call(self, work: Callable[[], T]) -> T:
        """work() on a daemon thread (with this thread's context variables), waited for
        until it returns or the stop comes."""
        self.check()
        done = threading.Event()
        box: dict[str, Any] = {}
        context = contextvars.copy_context()

        def run() -> None:
            try:
                box["value"] = context.run(work)
            except BaseException as exc:  # handed to the caller, whatever it is
                box["error"] = exc
            finally:
                done.set()

        with self._lock:
            self._wakers.add(done.set)
        try:
            threading.Thread(target=run, name="crewyard-model-call", daemon=True).start()
            done.wait()
        finally:
            with self._lock:
                self._wakers.discard(done.set)
        if "error" in box:
            raise box["error"]
        if "value" not in box:
            self.check()
        return box["value"]  # type: ignore[no-any-return]

    async def acall(self, work: Awaitable[T]) -> T:
        """await work, as a task cancelled by the stop (then Interrupted)."""
        self.check()
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(work)

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # a closed loop runs nothing any more
                loop.call_soon_threadsafe(task.cancel)

        with self._lock:
            self._wakers.add(wake)
        try:
            return await task
        except asyncio.CancelledError:
            if self.event.is_set():
                raise Interrupted("the model calls were stopped (Ctrl-C)") from None
            raise
        finally:
            with self._lock:
                self._wakers.discard(wake)
