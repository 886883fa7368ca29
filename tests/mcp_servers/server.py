"""An MCP server for the tests, written with the SDK's FastMCP: normal, crashing, dying and
slow tools. `python tests/mcp_servers/server.py [--http PORT] [--fail-start | --hang]`."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from mcp.server.fastmcp import Context, FastMCP

server = FastMCP("crewyard-test", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Say the text back, prefixed with echo:."""
    return f"echo: {text}"


@server.tool()
def add(a: int, b: int = 1) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def header(name: str, ctx: Context) -> str:  # type: ignore[type-arg]
    """The value of an HTTP request header (streamable HTTP only)."""
    request = ctx.request_context.request
    return "no request" if request is None else str(request.headers.get(name, "absent"))


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def crash(reason: str = "boom") -> str:
    """A tool that raises."""
    raise RuntimeError(f"the tool crashed: {reason}")


@server.tool()
def die() -> str:
    """A tool whose server process exits at once."""
    print("dying on purpose: goodbye from the test server", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
async def slow(seconds: float = 10) -> str:
    """A tool that takes its time (without holding up the server's other calls)."""
    await asyncio.sleep(seconds)
    return "finally"


if __name__ == "__main__":
    if "--fail-start" in sys.argv:
        print("fatal: cannot open the test database (on purpose)", file=sys.stderr, flush=True)
        sys.exit(1)
    if "--hang" in sys.argv:
        print("starting very slowly", file=sys.stderr, flush=True)
        time.sleep(600)
    if "--http" in sys.argv:
        server.settings.host = "127.0.0.1"
        server.settings.port = int(sys.argv[sys.argv.index("--http") + 1])
        server.run("streamable-http")
    else:
        server.run("stdio")
