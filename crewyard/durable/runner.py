"""Crew runs made by the durable engine in this process — batch items and schedule firings —
sharing one gateway per set of model overrides (its cooldowns, rates and cache) and one memory
(one embedded store), and resuming the run a killed attempt left instead of starting again."""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from crewyard import engines
from crewyard.crews import load_crew
from crewyard.errors import ConfigError
from crewyard.runs.store import RunRecord, RunStore
from crewyard.settings import Settings

if TYPE_CHECKING:
    from crewyard.runs.result import RunResult


class CrewRunner:
    """Runs crews for the durable engine; `most` caps the runs at once in this process (a
    worker's --concurrency), whatever queues they come from."""

    def __init__(self, settings: Settings, most: int | None = None) -> None:
        self.settings = settings
        self._gateways: dict[str, Any] = {}
        self._shared_memory: Any = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(most) if most else None
        self._draining = threading.Event()
        self._idle = threading.Condition()
        self.active = 0  # runs (items, firings) under way in this process

    def admit(self) -> None:
        """Called first by every item and firing. Once the process drains (SIGTERM), new work
        parks here for good: it is left unstarted, durable, for the next worker to recover."""
        if self._draining.is_set():
            threading.Event().wait()
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

    def earlier(self, run_id: str | None) -> RunRecord | None:
        """The run a killed attempt left, if it got as far as starting."""
        if run_id is None:
            return None
        runs = RunStore(self.settings.run_store)
        try:
            return runs.get(run_id)
        except ConfigError:  # killed before its run was recorded
            return None
        finally:
            runs.close()

    def run_crew(
        self,
        crew: str,
        inputs: dict[str, Any],
        run_id: str,
        *,
        models: dict[str, str] | None = None,
        resume: str | None = None,
    ) -> RunResult:
        """One run of the crew, recorded (a killed run resumes from its calls); raises
        RunFailed, or a CrewyardError when the crew no longer loads."""
        from crewyard.dispatcher import Dispatcher

        spec = load_crew(crew, self.settings.crews_dir, engines.processes())
        memory = self._memory() if spec.memory.enabled else None
        gateway = self._gateway(models or {})
        if self._slots is not None:
            self._slots.acquire()
        try:
            with Dispatcher(self.settings, gateway=gateway, memory=memory) as dispatcher:
                return dispatcher.run(spec, inputs, record=True, resume=resume, run_id=run_id)
        finally:
            if self._slots is not None:
                self._slots.release()

    def _gateway(self, models: dict[str, str]) -> Any:
        from crewyard.gateway import Gateway
        from crewyard.gateway.cache import ResponseCache
        from crewyard.gateway.config import ModelTable

        key = json.dumps(models, sort_keys=True)
        with self._lock:
            if key not in self._gateways:
                table = ModelTable.load(self.settings.models_file, models)
                cache = ResponseCache(self.settings.cache_dir) if self.settings.cache else None
                self._gateways[key] = Gateway(table, cache)
            return self._gateways[key]

    def _memory(self) -> Any:
        from crewyard.memory import open_memory

        with self._lock:
            if self._shared_memory is None:
                self._shared_memory = open_memory(self.settings, None)
            return self._shared_memory

    def close(self) -> None:
        with self._lock:
            if self._shared_memory is not None:
                self._shared_memory.close()
                self._shared_memory = None
