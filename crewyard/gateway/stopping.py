"""Stopping a gateway's model calls now (Ctrl-C), instead of waiting for the replies under way.

A call over the network runs on a daemon worker thread (sync) or as a task (async) that its
caller waits for until it ends or the stop comes: then the caller raises Interrupted at once,
and the abandoned request dies with the process (or when its reply comes). Calls into this
process (the embedded model) are stopped by the provider itself, between two tokens."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import queue
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from crewyard.errors import Interrupted

T = TypeVar("T")
Job = tuple[Callable[[], None], Callable[[], None]]  # the work, then what tells its caller
IDLE_WORKER_S = 30.0  # a worker with nothing to do for this long ends


class DaemonWorkers:
    """Threads that run jobs, kept between jobs (starting a thread per call cost ~0.4 ms of a
    call's own time) and started only when every one is busy. Daemon threads, unlike
    concurrent.futures' (joined at exit): a call abandoned by a stop never holds the process
    up, and a worker stuck in one only takes itself out of the pool."""

    def __init__(self, idle_s: float = IDLE_WORKER_S, name: str = "crewyard-model-call") -> None:
        self.idle_s = idle_s
        self.name = name
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0  # workers waiting for a job that no queued job is promised to
        self.started = 0  # threads started so far (a measure for tests and benches)

    def submit(self, job: Callable[[], None], then: Callable[[], None]) -> None:
        """Run job() on an idle worker, or on a new one when none is idle; then() once the
        worker is idle again (so a caller told by then() that submits next reuses it)."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                self._jobs.put((job, then))
                return
            self.started += 1
        work = threading.Thread(target=self._work, args=((job, then),), name=self.name, daemon=True)
        work.start()

    def _work(self, job: Job | None) -> None:
        while job is not None:
            run, then = job
            try:
                run()
            finally:
                with self._lock:
                    self._idle += 1
                then()
            job = self._next()

    def _next(self) -> Job | None:
        while True:
            try:
                return self._jobs.get(timeout=self.idle_s)
            except queue.Empty:
                with self._lock:
                    if self._idle:  # nobody promised a job to a waiting worker: this one ends
                        self._idle -= 1
                        return None
                # a job is on its way to some waiting worker: keep waiting


WORKERS = DaemonWorkers()  # the process's model-call workers, shared by every gateway


class Stopping:
    """One gateway's stop: once stop() is called, every call under way and every later one
    raises Interrupted."""

    def __init__(self, workers: DaemonWorkers = WORKERS) -> None:
        self.workers = workers
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
        """work() on a daemon worker (with this thread's context variables), waited for
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

        with self._lock:
            self._wakers.add(done.set)
        try:
            self.workers.submit(run, done.set)
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
