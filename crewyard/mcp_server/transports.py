"""How the server is reached: stdio (stdout is the protocol, so everything else printed goes
to stderr), or streamable HTTP behind a bearer token."""

from __future__ import annotations

import hmac
import ipaddress
import os
import sys
from io import TextIOWrapper
from typing import Any

import anyio

from crewyard.errors import ConfigError
from crewyard.mcp_server.server import CrewServer

TOKEN_ENV = "CREWYARD_MCP_TOKEN"
MCP_PATH = "/mcp"


def claim_stdout() -> TextIOWrapper:
    """The process's stdout for the protocol alone: file descriptor 1 and sys.stdout now go to
    stderr, so an engine that prints (CrewAI's console) cannot corrupt a message."""
    sys.stdout.flush()
    protocol = TextIOWrapper(os.fdopen(os.dup(1), "wb"), encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol


async def serve_stdio(crews: CrewServer, protocol: TextIOWrapper) -> None:
    from mcp.server.stdio import stdio_server

    server = crews.server
    try:
        async with stdio_server(stdout=anyio.wrap_file(protocol)) as (read, write):
            await server.run(read, write, server.create_initialization_options())
    finally:
        await anyio.to_thread.run_sync(crews.shut_down)


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT, [IPv6]:PORT or PORT (host 127.0.0.1)."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"{text!r} is not HOST:PORT", key="--http", hint="for example --http 127.0.0.1:8765"
        )
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def required_token() -> str:
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            "serving over HTTP needs a bearer token, and none is set",
            key=TOKEN_ENV,
            hint=f"export {TOKEN_ENV}=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))') and give clients "
            '"Authorization: Bearer <that token>"',
        )
    return token


def bearer_app(app: Any, token: str) -> Any:
    """app behind `Authorization: Bearer <token>` (compared in constant time): 401 without."""
    expected = token.encode()

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"")
        scheme, _, credentials = given.partition(b" ")
        ok = scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), expected)
        if not ok:
            await _plain(send, 401, b"unauthorized: send Authorization: Bearer <token>\n")
            return
        if scope.get("path", "").rstrip("/") != MCP_PATH:
            await _plain(send, 404, f"not found: the MCP endpoint is {MCP_PATH}\n".encode())
            return
        await app(scope, receive, send)

    return guarded


async def _plain(send: Any, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8")]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="crewyard"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def serve_http(crews: CrewServer, host: str, port: int, token: str) -> None:
    import uvicorn
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

    manager = StreamableHTTPSessionManager(app=crews.server)
    app = bearer_app(manager.handle_request, token)
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", access_log=False, log_config=None
    )
    server = uvicorn.Server(config)
    shown = f"[{host}]" if ":" in host else host
    print(f"crewyard MCP server on http://{shown}:{port}{MCP_PATH}", file=sys.stderr, flush=True)
    try:
        async with manager.run():
            await server.serve()
    finally:
        await anyio.to_thread.run_sync(crews.shut_down)
