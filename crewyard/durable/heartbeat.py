"""Heartbeats: every process that runs durable work (a worker, a `batch` process) says it is
alive every few seconds in the run store, and recovers the work of processes that stopped:
on this machine when their pid is gone, on others when their heartbeat stopped. One process
alone claims each dead one's work."""

from __future__ import annotations

import threading

from crewyard.durable import engine
from crewyard.redact import logger
from crewyard.runs.firings import FiringStore
from crewyard.settings import Settings

BEAT_S = 5.0  # how often a process says it is alive
DEAD_AFTER_S = 30.0  # a process silent this long is dead: another recovers its work


class Heartbeat:
    """Beats for this process (a worker, or a `batch` process: both run items) in a thread,
    and recovers the work of executors that stopped beating."""

    def __init__(self, settings: Settings, queues: list[str] | None = None) -> None:
        self.store = FiringStore(settings.run_store)
        self.me = engine.executor_id()
        self.queues = queues
        self.stopping = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="crewyard-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.store.beat(self.me, self.queues)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._thread.join(timeout=BEAT_S * 2)
        self.store.gone(self.me)
        self.store.close()

    def recover(self) -> list[str]:
        """Recover what dead executors left (this machine: by pid; others: by heartbeat)."""
        recovered = engine.recover_dead(
            lambda executor: self.store.alive(executor, DEAD_AFTER_S), self.store.claim
        )
        for executor in {w.split("/")[0] for w in recovered}:
            logger.info("recovered the work of a stopped process ({})", executor)
        return recovered

    def _beat(self) -> None:
        while not self.stopping.wait(BEAT_S):
            try:
                self.store.beat(self.me, self.queues)
                self.recover()
            except Exception as exc:  # the database went away for a moment: beat again later
                logger.warning("heartbeat failed: {}", exc)
