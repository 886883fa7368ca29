"""python main.py mcp serve [--http HOST:PORT]: every crew as a tool of an MCP server."""

from __future__ import annotations

import argparse

from crewyard.cli.output import program_name
from crewyard.errors import ExitCode


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} mcp", description="crewyard as an MCP server."
    )
    sub = p.add_subparsers(dest="action", required=True)
    serve = sub.add_parser(
        "serve",
        help="every crew as an MCP tool, plus runs_list, run_show and memory_search",
        description="Serve over stdio (the default), or streamable HTTP with --http.",
    )
    serve.add_argument(
        "--http",
        metavar="HOST:PORT",
        help="streamable HTTP at http://HOST:PORT/mcp instead of stdio (host default "
        "127.0.0.1); needs CREWYARD_MCP_TOKEN, sent by clients as Authorization: Bearer",
    )
    serve.add_argument(
        "-v", "--verbose", action="store_true", help="every event of each run on stderr"
    )
    return p


def run(argv: list[str]) -> int:
    from crewyard.mcp_server import serve
    from crewyard.observe.logs import configure
    from crewyard.settings import Settings

    args = parser().parse_args(argv)
    settings = Settings.for_command_line()
    configure("TRACE" if args.verbose else "WARNING")  # stderr; stdout is the protocol
    serve(settings, args.http)
    return ExitCode.OK
