"""Qdrant clients: the embedded store (one client per folder per process) or a server."""

from __future__ import annotations

import atexit
import threading
from pathlib import Path

from qdrant_client import QdrantClient

from crewyard.errors import ConfigError
from crewyard.redact import redact
from crewyard.settings import usable_folder

_local_clients: dict[str, QdrantClient] = {}
_local_lock = threading.Lock()


def local_client(path: Path) -> QdrantClient:
    """One client per folder per process: local mode allows one process per folder."""
    key = str(path.resolve())
    with _local_lock:
        if key not in _local_clients:
            usable_folder(path, "the memory store folder")
            try:
                _local_clients[key] = QdrantClient(path=key)
            except Exception as exc:
                if "already accessed" in str(exc):
                    raise ConfigError(
                        f"the memory store at {path} is in use by another crewyard process",
                        hint="run the crews one after another, use the batch runner, or set "
                        "QDRANT_URL to a Qdrant server that many processes can share",
                    ) from exc
                raise ConfigError(  # a damaged store: say where it is and how to start over
                    f"the memory store at {path} cannot be opened "
                    f"({type(exc).__name__}: {str(exc)[:200]})",
                    hint=f"move {path} aside (or delete it) to start with an empty memory",
                ) from exc
        return _local_clients[key]


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
    for client in _local_clients.values():
        client.close()
    _local_clients.clear()
