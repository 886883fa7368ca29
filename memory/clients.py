"""Qdrant clients: the embedded store (one client per folder per process, shared by the stores
that hold it and closed when the last lets go) or a server."""

from __future__ import annotations

import atexit
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from qdrant_client import QdrantClient

from crewyard.errors import ConfigError
from crewyard.redact import redact
from crewyard.settings import usable_folder

# folder → (client, how many open stores hold it)
_local_clients: dict[str, tuple[QdrantClient, int]] = {}
_local_lock = threading.Lock()
RETRY_EVERY_S = 0.25
P = ParamSpec("P")
R = TypeVar("R")


class _Guarded(Protocol):
    _lock: Any


G = TypeVar("G", bound=_Guarded)


def one_at_a_time(method: Callable[Concatenate[G, P], R]) -> Callable[Concatenate[G, P], R]:
    """A store method run by one thread at a time (qdrant-client's local mode is not thread
    safe, and a batch runs its items in threads of one process)."""

    def guarded(self: G, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock:
            return method(self, *args, **kwargs)

    guarded.__doc__ = method.__doc__
    return guarded


def local_client(path: Path, wait_s: float = 30.0) -> QdrantClient:
    """The embedded store's client for path. Local mode allows one process per folder: while
    another process holds it, wait up to wait_s for it to let go."""
    key = str(path.resolve())
    with _local_lock:
        if key in _local_clients:
            client, holders = _local_clients[key]
            _local_clients[key] = (client, holders + 1)
            return client
        usable_folder(path, "the memory store folder")
        client = _open_local(path, key, wait_s)
        _local_clients[key] = (client, 1)
        return client


def release_local_client(path: Path) -> None:
    """One store lets go of path's client; the last one closes it, so other processes (the
    command line while a notebook lives on) can open the store."""
    key = str(path.resolve())
    with _local_lock:
        if key not in _local_clients:
            return
        client, holders = _local_clients[key]
        if holders > 1:
            _local_clients[key] = (client, holders - 1)
            return
        del _local_clients[key]
        client.close()


def _open_local(path: Path, key: str, wait_s: float) -> QdrantClient:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return QdrantClient(path=key)
        except Exception as exc:
            if "already accessed" not in str(exc):
                raise ConfigError(  # a damaged store: say where it is and how to start over
                    f"the memory store at {path} cannot be opened "
                    f"({type(exc).__name__}: {str(exc)[:200]})",
                    hint=f"move {path} aside (or delete it) to start with an empty memory",
                ) from exc
            if time.monotonic() >= deadline:
                raise ConfigError(
                    f"the memory store at {path} is in use by another crewyard process "
                    f"(waited {wait_s:g} s for it)",
                    key="CREWYARD_MEMORY_WAIT_S",
                    hint="run the crews one after another, wait longer "
                    "(CREWYARD_MEMORY_WAIT_S), use the batch runner, or set QDRANT_URL to a "
                    "Qdrant server that many processes can share",
                ) from exc
            time.sleep(RETRY_EVERY_S)


def server_client(url: str, api_key: str | None) -> QdrantClient:
    client = QdrantClient(url=url, api_key=api_key, timeout=5, check_compatibility=False)
    try:
        client.get_collections()
    except Exception as exc:
        raise ConfigError(
            f"Qdrant server at {url} is not reachable: {redact(str(exc))[:300]}",
            key="QDRANT_URL",
            hint="start the server, fix QDRANT_URL, or unset it to use the embedded store",
        ) from exc
    return client


@atexit.register
def _close_local_clients() -> None:
    # Close while the interpreter still works: the client's __del__ fails at shutdown.
    for client, _ in _local_clients.values():
        client.close()
    _local_clients.clear()
