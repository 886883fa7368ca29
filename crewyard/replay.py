"""The run side of record and replay: finding a run's cassette, and the shared memory as a
recording or replaying run sees it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from crewyard.cassette import CassettePlayer, CassetteWriter, cassette_path
from crewyard.errors import ConfigError, CrewyardError
from crewyard.runs import RunStore
from crewyard.settings import Settings

if TYPE_CHECKING:
    from memory.store import MemoryItem, MemoryStore


def find_cassette(settings: Settings, store: RunStore, ref: str | Path) -> Path:
    """The cassette of a run id (or a unique prefix of one), or a cassette file's path."""
    text = str(ref)
    direct = cassette_path(settings.cassettes_dir, text)
    if direct.is_file():
        return direct
    path = Path(text)
    if path.suffix == ".jsonl":
        if path.is_file():
            return path
        raise ConfigError(f"no cassette file {path}", hint="give a run id or an existing .jsonl")
    run = store.get(text)  # a ConfigError naming close ids when there is no such run
    recorded = cassette_path(settings.cassettes_dir, run.id)
    if not recorded.is_file():
        raise ConfigError(
            f"run {run.id} was not recorded: there is no cassette {recorded}",
            hint=f"record a run to replay: python main.py --crew {run.crew} --record …",
        )
    return recorded


def open_player(settings: Settings, store: RunStore, ref: str | Path) -> CassettePlayer:
    return CassettePlayer(find_cassette(settings, store, ref))


def recorded_crew(settings: Settings, ref: str | Path) -> str:
    """The crew a recorded run ran (for `--replay RUN_ID` without --crew)."""
    player = open_player(settings, RunStore(settings.runs_db), ref)
    if not player.crew:
        raise ConfigError(f"the cassette {player.path} names no crew", hint="give --crew NAME")
    return player.crew


class MemoryTape:
    """The shared memory of a run that records or replays. Recording: searches and saved
    facts go to the store and their results to the cassette. Replaying: they are answered
    from the cassette and the store is never opened (nothing is written), so a replay sees
    what the original run saw, however the memory has changed since."""

    def __init__(self, cassette: CassetteWriter | CassettePlayer, store: Any = None) -> None:
        self.cassette = cassette
        self.store = store

    def search(
        self,
        query: str,
        *,
        scopes: tuple[str, ...] | None = None,
        k: int = 5,
        crew: str | None = None,
        run_id: str | None = None,  # the replay's run id differs: not part of the key
    ) -> list[MemoryItem]:
        args = {"query": query, "scopes": list(scopes or ()), "k": k, "crew": crew}
        if isinstance(self.cassette, CassettePlayer):
            from memory.store import MemoryItem

            return [MemoryItem(**item) for item in self.cassette.memory("search", args)]
        given = {"scopes": scopes} if scopes else {}
        found: list[MemoryItem] = self.store.search(query, k=k, crew=crew, run_id=run_id, **given)
        self.cassette.memory("search", args, [item._asdict() for item in found])
        return found

    def add_fact(self, text: str, *, crew: str, run_id: str) -> str:
        args = {"text": text, "crew": crew}
        if isinstance(self.cassette, CassettePlayer):
            return str(self.cassette.memory("add_fact", args))
        saved = str(self.store.add_fact(text, crew=crew, run_id=run_id))
        self.cassette.memory("add_fact", args, saved)
        return saved

    def __getattr__(self, name: str) -> Any:
        if self.store is None:
            raise CrewyardError(f"memory.{name} cannot be replayed: only searches and saves are")
        return getattr(self.store, name)


def as_store(tape: MemoryTape) -> MemoryStore:
    """The tape where a MemoryStore is expected: engines and memory tools only search and
    add facts, and anything else reaches the real store (or fails clearly in a replay)."""
    return cast("MemoryStore", tape)
