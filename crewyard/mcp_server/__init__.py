"""`python main.py mcp serve`: every crew as an MCP tool (plus runs_list, run_show,
memory_search), over stdio or streamable HTTP with a bearer token. The only package that
imports the `mcp` SDK's server side."""

from __future__ import annotations

import sys

import anyio

from crewyard.settings import Settings


def serve(settings: Settings, http: str | None = None) -> None:
    """Serve until the client goes away (stdio) or the process is stopped (HTTP)."""
    from crewyard.mcp_server import transports
    from crewyard.mcp_server.server import CrewServer

    if http is None:
        protocol = transports.claim_stdout()  # before anything else can print
        crews = CrewServer(settings)
        anyio.run(transports.serve_stdio, crews, protocol)
        return
    host, port = transports.parse_address(http)
    token = transports.required_token()
    if not transports.is_loopback(host):
        print(
            f"warning: serving on {host}, reachable beyond this machine; anyone holding the "
            "token can run crews (put TLS in front of it)",
            file=sys.stderr,
            flush=True,
        )
    crews = CrewServer(settings)
    anyio.run(transports.serve_http, crews, host, port, token)
