"""The memory every crew shares. `Memory` is what a run needs of it — recall before the run,
the agents' memory tools, the write-back after it, and replay's stand-in (a tape) — so any
backend with these methods plugs in. The built-in backend is Qdrant (memory/store.py: the only
qdrant_client importer); more register by name with `register(name, factory)` or through the
`crewyard.memory` entry point group, and `CREWYARD_MEMORY_BACKEND` picks one.

In a notebook, `crewyard.memory()` — this package, called — opens the configured memory."""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crewyard import plugins
from crewyard.environ import imported
from crewyard.errors import ConfigError, did_you_mean
from crewyard.memory.protocol import SCOPES, Episode, Memory, MemoryItem
from crewyard.settings import Settings

if TYPE_CHECKING:
    from crewyard.gateway import Gateway

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


def open_memory(settings: Settings, gateway: Gateway | None = None) -> Memory:
    """The configured memory backend (CREWYARD_MEMORY_BACKEND; built in: qdrant — a server when
    QDRANT_URL is set, else the embedded store). gateway: for CREWYARD_EMBEDDER=litellm (one
    is made from models.yaml when none is given)."""
    factory = backend(settings.memory_backend)
    if factory is None:
        found = backends()
        raise ConfigError(
            f"no memory backend named {settings.memory_backend!r}",
            key="CREWYARD_MEMORY_BACKEND",
            hint=did_you_mean(settings.memory_backend, found) or f"one of: {', '.join(found)}",
        )
    if settings.embedder == "litellm" and gateway is None:
        from crewyard.gateway import Gateway
        from crewyard.gateway.config import ModelTable

        gateway = Gateway(ModelTable.load(settings.models_file))
    return factory(settings, gateway)


def lazy_memory(settings: Settings, gateway: Callable[[], Any] | None = None) -> Memory:
    """The configured memory, opened on its first real use (memory/lazy.py): until then an
    embedded store that was never created answers searches with nothing. gateway: makes the
    gateway for CREWYARD_EMBEDDER=litellm, called only then."""
    from crewyard.memory.lazy import LazyMemory

    def opener() -> Memory:
        needed = gateway() if gateway is not None and settings.embedder == "litellm" else None
        return open_memory(settings, needed)

    return LazyMemory(opener, lambda: nothing_stored(settings))


def nothing_stored(settings: Settings) -> bool:
    """Whether memory is known to hold nothing: the built-in embedded store's folder was never
    made (a server or another backend may hold anything)."""
    embedded = settings.memory_backend == "qdrant" and not os.environ.get("QDRANT_URL")
    return embedded and not (settings.data_dir / "qdrant").exists()


def _open_qdrant(settings: Settings, gateway: Any) -> Memory:
    """The built-in store: a Qdrant server when QDRANT_URL is set, else the embedded one in
    the data folder; texts embedded by settings.embedder (gateway: for `litellm`)."""
    from crewyard.memory import embedders

    with imported("Qdrant"):
        from crewyard.memory.store import MemoryStore

    embedder: embedders.Embedder
    if settings.embedder == "litellm":
        embedder = embedders.GatewayEmbedder(gateway)
    elif settings.embedder == "fastembed":
        embedder = embedders.FastEmbedEmbedder(settings.fastembed_model)
    else:
        embedder = embedders.WordLlamaEmbedder()
    store = MemoryStore.open(
        embedder,
        path=settings.data_dir / "qdrant",
        url=os.environ.get("QDRANT_URL") or None,
        api_key=os.environ.get("QDRANT_API_KEY"),
        wait_s=settings.memory_wait_s,
    )
    store.expire()  # short-term notes past their retention
    return store


class _CallablePackage(types.ModuleType):
    """`crewyard.memory` is this package and, called, the notebook's way to the memory: the
    package took the name the notebook API already had."""

    def __call__(self, settings: Settings | None = None) -> Memory:
        """The shared memory (the built-in store also has items, stats, forget, reset)."""
        return open_memory(settings or Settings())


sys.modules[__name__].__class__ = _CallablePackage

__all__ = [
    "SCOPES",
    "Episode",
    "Memory",
    "MemoryItem",
    "backend",
    "backends",
    "lazy_memory",
    "nothing_stored",
    "open_memory",
    "register",
]
