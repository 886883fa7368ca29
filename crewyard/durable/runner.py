"""Crew runs made by the durable engine in this process — batch items and schedule firings —
sharing one dispatcher (run store, gateway, memory) per set of model overrides, one batch store,
and each crew's checked spec until its files change; a run a killed attempt left is resumed
instead of started again."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from crewyard import engines
from crewyard.crews import load_crew
from crewyard.crews.spec import CrewSpec
from crewyard.errors import ConfigError
from crewyard.runs.batches import BatchStore
from crewyard.runs.store import RunRecord
from crewyard.settings import Settings

if TYPE_CHECKING:
    from crewyard.dispatcher import Dispatcher
    from crewyard.runs.result import RunResult


class Parked(BaseException):
    """Work taken after the process began to stop, handed back unstarted. A BaseException so
    that the durable engine records no outcome for it: the workflow stays pending, and the
    next worker's recovery runs it."""


class CrewRunner:
    """Runs crews for the durable engine; `most` caps the runs at once in this process (a
    worker's --concurrency), whatever queues they come from."""

    def __init__(self, settings: Settings, most: int | None = None) -> None:
        self.settings = settings
        self._dispatchers: dict[str, Dispatcher] = {}
        self._specs: dict[str, tuple[tuple[float, ...], CrewSpec]] = {}
        self._shared_memory: Any = None
        self._batches: BatchStore | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(most) if most else None
        self._draining = threading.Event()
        self._closed = threading.Event()  # set by close(): parked work then leaves
        self._idle = threading.Condition()
        self.active = 0  # runs (items, firings) under way in this process
        # each batch's span (a W3C carrier), which its items' runs go under when traced
        self.trace_parents: dict[str, dict[str, str]] = {}

    def admit(self) -> None:
        """Called first by every item and firing. Once the process drains (SIGTERM), new work
        parks here until the runner closes, then leaves unstarted (Parked): durable, for the
        next worker to recover, and no thread left waiting to hold the process's exit."""
        if self._draining.is_set():
            self._closed.wait()
            raise Parked("left unstarted: the process is stopping")
        with self._idle:
            self.active += 1

    def leave(self) -> None:
        with self._idle:
            self.active -= 1
            self._idle.notify_all()

    def drain(self, grace_s: float) -> bool:
        """Take no new work, and wait up to grace_s for what runs; True when all finished."""
        self._draining.set()
        with self._idle:
            return self._idle.wait_for(lambda: self.active == 0, timeout=grace_s)

    @property
    def batches(self) -> BatchStore:
        """The batch store every item of this process writes through (one connection)."""
        with self._lock:
            if self._batches is None:
                self._batches = BatchStore(self.settings.run_store)
            return self._batches

    def earlier(self, run_id: str | None) -> RunRecord | None:
        """The run a killed attempt left, if it got as far as starting."""
        if run_id is None:
            return None
        try:
            return self._dispatcher({}).store.get(run_id)
        except ConfigError:  # killed before its run was recorded
            return None

    def spec(self, crew: str) -> CrewSpec:
        """The crew, checked; loaded again only when one of its files changed (a worker lives
        for days, and its crews may be edited meanwhile)."""
        folder = self.settings.crews_dir / crew
        stamp = (
            tuple(sorted(p.stat().st_mtime for p in folder.rglob("*.y*ml")))
            if folder.is_dir()
            else ()
        )
        with self._lock:
            cached = self._specs.get(crew)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        spec = load_crew(crew, self.settings.crews_dir, engines.processes())
        with self._lock:
            self._specs[crew] = (stamp, spec)
        return spec

    def run_crew(
        self,
        crew: str,
        inputs: dict[str, Any],
        run_id: str,
        *,
        models: dict[str, str] | None = None,
        resume: str | None = None,
        trace_parent: dict[str, str] | None = None,
    ) -> RunResult:
        """One run of the crew, recorded (a killed run resumes from its calls); raises
        RunFailed, or a CrewyardError when the crew no longer loads. trace_parent: the span
        its own goes under (a batch's)."""
        spec = self.spec(crew)
        dispatcher = self._dispatcher(models or {}, spec.memory.enabled)
        if self._slots is not None:
            self._slots.acquire()
        try:
            return dispatcher.run(
                spec, inputs, record=True, resume=resume, run_id=run_id, trace_parent=trace_parent
            )
        finally:
            if self._slots is not None:
                self._slots.release()

    def _dispatcher(self, models: dict[str, str], memory: bool = False) -> Dispatcher:
        """One dispatcher per set of model overrides: its gateway's cooldowns, rates and cache
        are shared, and so are the run store and the memory (one embedded store)."""
        from crewyard.dispatcher import Dispatcher
        from crewyard.gateway import Gateway
        from crewyard.gateway.cache import ResponseCache
        from crewyard.gateway.config import ModelTable

        key = json.dumps(models, sort_keys=True)
        with self._lock:
            if key not in self._dispatchers:
                table = ModelTable.load(self.settings.models_file, models)
                cache = ResponseCache(self.settings.cache_dir) if self.settings.cache else None
                gateway = Gateway(table, cache)
                self._dispatchers[key] = Dispatcher(self.settings, gateway=gateway)
            dispatcher = self._dispatchers[key]
            if memory and self._shared_memory is None:
                from crewyard.memory import open_memory

                self._shared_memory = open_memory(self.settings, None)
            if memory:
                dispatcher.share_memory(self._shared_memory)
            return dispatcher

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            for dispatcher in self._dispatchers.values():
                dispatcher.close()
            self._dispatchers.clear()
            if self._shared_memory is not None:
                self._shared_memory.close()
                self._shared_memory = None
            if self._batches is not None:
                self._batches.close()
                self._batches = None
