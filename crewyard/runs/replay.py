"""The run side of record and replay: finding a run's cassette, and the shared memory as a
recording or replaying run sees it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewyard.errors import ConfigError, CrewyardError
from crewyard.memory import SCOPES, Episode, Memory, MemoryItem
from crewyard.runs.cassettes import CassettePlayer, CassetteWriter, cassette_path
from crewyard.runs.resuming import ResumingTape
from crewyard.runs.store import RunStore
from crewyard.settings import Settings


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
    player = open_player(settings, RunStore(settings.run_store), ref)
    if not player.crew:
        raise ConfigError(f"the cassette {player.path} names no crew", hint="give --crew NAME")
    return player.crew


Cassette = CassetteWriter | CassettePlayer | ResumingTape


class MemoryTape:
    """The shared memory of a run that records or replays (a Memory). Recording: every call
    goes to the store, and what searches and saved facts returned goes to the cassette.
    Replaying: searches and saves are answered from the cassette and the store is never opened,
    so a replay sees what the original run saw, however the memory has changed since; and a
    replay learns nothing (the other writes are dropped)."""

    def __init__(self, cassette: Cassette, store: Memory | None = None) -> None:
        self.cassette = cassette
        self.store = store

    def _store(self) -> Memory:
        if self.store is None:
            raise CrewyardError("a replay reads its memory from the cassette, not the store")
        return self.store

    def search(
        self,
        query: str,
        *,
        scopes: tuple[str, ...] = SCOPES,
        k: int = 5,
        crew: str | None = None,
        run_id: str | None = None,  # the replay's run id differs: not part of the key
    ) -> list[MemoryItem]:
        args = {"query": query, "scopes": list(scopes), "k": k, "crew": crew}
        if (played := self.cassette.play_memory("search", args)) is not None:
            return [MemoryItem(**item) for item in played.value]
        found = self._store().search(query, scopes=scopes, k=k, crew=crew, run_id=run_id)
        self.cassette.keep_memory("search", args, [item._asdict() for item in found])
        return found

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
        args = {"text": text, "crew": crew}
        if (played := self.cassette.play_memory("add_fact", args)) is not None:
            return str(played.value)
        saved = self._store().add_fact(
            text, crew=crew, run_id=run_id, task=task, kind=kind, subject=subject
        )
        self.cassette.keep_memory("add_fact", args, saved)
        return saved

    def upsert_entity(
        self, name: str, attributes: dict[str, Any], *, crew: str, run_id: str
    ) -> str:
        if self.store is None:
            return ""
        return self.store.upsert_entity(name, attributes, crew=crew, run_id=run_id)

    def add_episode(self, episode: Episode) -> str:
        return self.store.add_episode(episode) if self.store is not None else ""

    def add_short_term(self, text: str, *, crew: str, run_id: str, task: str) -> str:
        if self.store is None:
            return ""
        return self.store.add_short_term(text, crew=crew, run_id=run_id, task=task)

    def forget_where(
        self, scope: str, *, crew: str | None = None, run_id: str | None = None
    ) -> int:
        if self.store is None:  # a replay learnt nothing: there is nothing to forget
            return 0
        return self.store.forget_where(scope, crew=crew, run_id=run_id)

    def close(self) -> None:
        return None  # the store belongs to the dispatcher, which closes it
