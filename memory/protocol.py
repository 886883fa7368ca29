"""What a run needs of the shared memory, whatever keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

SCOPES = ("short_term", "facts", "entities", "episodes")


class MemoryItem(NamedTuple):
    """One stored memory (with its cosine score when it came from a search). A NamedTuple:
    searches build many of these, and a tuple is built several times faster."""

    id: str
    scope: str
    text: str
    payload: dict[str, Any]
    score: float | None = None


@dataclass(frozen=True)
class Episode:
    """One run, as memory keeps it: recalled for similar objectives later."""

    run_id: str
    crew: str
    engine: str
    objective: str
    steps: list[str]
    outcome: str
    success: bool


class Memory(Protocol):
    def search(
        self,
        query: str,
        *,
        scopes: tuple[str, ...] = SCOPES,
        k: int = 5,
        crew: str | None = None,
        run_id: str | None = None,
    ) -> list[MemoryItem]:
        """The k closest items over the given scopes, best first."""
        ...

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
        """A long-term fact (a near-duplicate updates the stored one), with the run and task
        it came from, its kind (see memory/facts.py) and subject; its id."""
        ...

    def upsert_entity(
        self, name: str, attributes: dict[str, Any], *, crew: str, run_id: str
    ) -> str:
        """An entity's attributes, merged into what is stored under the same name."""
        ...

    def add_episode(self, episode: Episode) -> str:
        """One run: what it set out to do, its steps and how it ended."""
        ...

    def add_short_term(self, text: str, *, crew: str, run_id: str, task: str) -> str:
        """A task output of a run, kept for a while."""
        ...

    def forget_where(
        self, scope: str, *, crew: str | None = None, run_id: str | None = None
    ) -> int:
        """Forget a scope's items of a crew or of the run that taught them; how many."""
        ...

    def close(self) -> None:
        """Let go of what the backend holds (files, locks, connections)."""
        ...
