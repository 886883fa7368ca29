"""A memory opened on its first real use. Opening the built-in store costs about a second
(qdrant-client's import, the embedder's load) before a run's first model call; a run whose
embedded store was never created has nothing to recall, so its searches are answered with
nothing and only a write opens (and creates) the store."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from crewyard.memory.protocol import SCOPES, Episode, Memory, MemoryItem


class LazyMemory:
    """A Memory that calls opener on first need. nothing_stored answers whether the backend
    is known to hold nothing yet (checked until the memory opens)."""

    def __init__(self, opener: Callable[[], Memory], nothing_stored: Callable[[], bool]) -> None:
        self._opener = opener
        self._nothing_stored = nothing_stored
        self._opened: Memory | None = None
        self._lock = threading.Lock()

    @property
    def opened(self) -> Memory:
        """The real memory, opened now if it was not yet."""
        with self._lock:
            if self._opened is None:
                self._opened = self._opener()
            return self._opened

    @property
    def is_open(self) -> bool:
        return self._opened is not None

    def search(
        self,
        query: str,
        *,
        scopes: tuple[str, ...] = SCOPES,
        k: int = 5,
        crew: str | None = None,
        run_id: str | None = None,
    ) -> list[MemoryItem]:
        if self._opened is None and self._nothing_stored():
            return []
        return self.opened.search(query, scopes=scopes, k=k, crew=crew, run_id=run_id)

    def add_fact(
        self,
        text: str,
        *,
        crew: str,
        run_id: str,
        task: str | None = None,
        kind: str = "claim",
        subject: str = "",
    ) -> str:
        return self.opened.add_fact(
            text, crew=crew, run_id=run_id, task=task, kind=kind, subject=subject
        )

    def upsert_entity(
        self, name: str, attributes: dict[str, Any], *, crew: str, run_id: str
    ) -> str:
        return self.opened.upsert_entity(name, attributes, crew=crew, run_id=run_id)

    def add_episode(self, episode: Episode) -> str:
        return self.opened.add_episode(episode)

    def add_short_term(self, text: str, *, crew: str, run_id: str, task: str) -> str:
        return self.opened.add_short_term(text, crew=crew, run_id=run_id, task=task)

    def forget_where(
        self, scope: str, *, crew: str | None = None, run_id: str | None = None
    ) -> int:
        if self._opened is None and self._nothing_stored():
            return 0
        return self.opened.forget_where(scope, crew=crew, run_id=run_id)

    def close(self) -> None:
        with self._lock:
            if self._opened is not None:
                self._opened.close()
                self._opened = None

    def __getattr__(self, name: str) -> Any:
        # the backend's own calls beyond the protocol (the built-in store's items, stats, …)
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.opened, name)
