"""Serving the run viewer with uvicorn on a socket bound here (so the printed URL names the
port really in use, even for --port 0)."""

from __future__ import annotations

import secrets
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crewyard.errors import ConfigError
from crewyard.runs.store import RunStore

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket at host:port; a ConfigError says why there cannot be one."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"cannot serve on host {host!r}: {exc}", key="--host") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(where)
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot serve on {host}:{port}: {exc.strerror or exc}",
            key="--port",
            hint="pick another port with --port N (--port 0: any free one)",
        ) from None
    return sock


def url_of(sock: socket.socket, token: str) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def serve(
    store: RunStore,
    cassettes_dir: Path,
    host: str,
    port: int,
    *,
    token: str | None = None,
    ready: Callable[[str], None] = print,
    answer_run: Callable[[str, str | None], dict[str, Any]] | None = None,
) -> None:
    """Serve the viewer until Ctrl-C (or SIGTERM); ready(url) is called once it listens."""
    import uvicorn

    from crewyard.ui.app import create_app

    token = token or secrets.token_urlsafe(24)
    sock = bind(host, port)
    app = create_app(store, cassettes_dir, token, answer_run)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    ready(url_of(sock, token))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
