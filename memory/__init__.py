"""The memory every crew shares. `Memory` is what a run needs of it — recall before the run,
the agents' memory tools, the write-back after it, and replay's stand-in (a tape) — so any
backend with these methods plugs in. The built-in backend is Qdrant (memory/store.py: the only
qdrant_client importer); more register by name with `register(name, factory)` or through the
`crewyard.memory` entry point group, and `CREWYARD_MEMORY_BACKEND` picks one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crewyard import plugins
from memory.protocol import SCOPES, Episode, Memory, MemoryItem

if TYPE_CHECKING:
    from crewyard.settings import Settings

ENTRY_POINTS = "crewyard.memory"
# A backend factory gets the settings (data folder, embedder) and the gateway for embedding
# models (None unless CREWYARD_EMBEDDER=litellm) and returns an open Memory.
MemoryFactory = Callable[["Settings", Any], Memory]
_registered: dict[str, MemoryFactory] = {}


def register(name: str, factory: MemoryFactory) -> None:
    _registered[name] = factory


def backends() -> dict[str, MemoryFactory]:
    """Every memory backend by name: `qdrant` (built in), plugins, registered ones."""
    found: dict[str, MemoryFactory] = {"qdrant": _open_qdrant}
    for entry in plugins.declared(ENTRY_POINTS):
        found.setdefault(entry.name, entry.load())
    return {**found, **_registered}


def backend(name: str) -> MemoryFactory | None:
    """The backend called name (plugins are looked for only when it is not built in or
    registered in code)."""
    if name in _registered:
        return _registered[name]
    if name == "qdrant":
        return _open_qdrant
    return backends().get(name)


def _open_qdrant(settings: Settings, gateway: Any) -> Memory:
    from memory.store import open_store

    return open_store(settings, gateway)


__all__ = ["SCOPES", "Episode", "Memory", "MemoryItem", "backend", "backends", "register"]
