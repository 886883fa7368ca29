"""MCP servers for the tests: a Python one written with the SDK (server.py) and the npm
packages `make mcp-servers` installs into node_modules/ here."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
PY_SERVER = HERE / "server.py"
NODE_BIN = HERE / "node_modules" / ".bin"


def python_server(*flags: str, **keys: object) -> dict[str, object]:
    """crew.yaml's mcp_servers entry that runs the Python test server over stdio."""
    return {"command": sys.executable, "args": [str(PY_SERVER), *flags], **keys}


def npm_server(package: str) -> str:
    """The installed npm server's script (run it with node); skips the test when node or the
    package is missing, and fails it in CI, where they must be there."""
    script = NODE_BIN / f"mcp-server-{package}"
    if shutil.which("node") is not None and script.exists():
        return str(script)
    why = (
        f"the npm MCP server {package} is not installed in {NODE_BIN} "
        f"({'node is absent' if shutil.which('node') is None else 'run make mcp-servers'})"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(why + ": CI must have it")
    pytest.skip(why)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def http_server(log: Path) -> Iterator[str]:
    """The Python test server over streamable HTTP on 127.0.0.1; yields its /mcp URL."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(PY_SERVER), "--http", str(port)], stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"the HTTP test server exited: {log.read_text()}") from None
                time.sleep(0.1)
        else:
            raise RuntimeError(f"the HTTP test server did not listen: {log.read_text()}")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
