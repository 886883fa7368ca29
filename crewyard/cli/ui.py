"""python main.py ui [--host H] [--port N]: the run viewer, a local read-only web page over the
run store (crewyard/ui/)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from crewyard.cli.output import program_name
from crewyard.errors import ExitCode

DEFAULT_PORT = 8765


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} ui",
        description="Serve the run viewer: the runs list and each run as a live timeline. "
        "Read-only; the printed URL carries a random token every request must present.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port to listen on ({DEFAULT_PORT}; 0: any free port)",
    )
    return p


def run(argv: list[str]) -> int:
    from crewyard.runs.store import RunStore
    from crewyard.settings import Settings
    from crewyard.ui.server import LOOPBACK, serve

    args = parser().parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser().error(f"--port {args.port} is not a port (0 to 65535)")
    settings = Settings.for_command_line()
    store = RunStore(settings.run_store)

    def ready(url: str) -> None:
        print(f"crewyard run viewer: {url}", flush=True)
        print(
            "read-only but for answering runs waiting for input; Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        if args.host not in LOOPBACK:
            print(
                f"warning: listening on {args.host}: anyone who can reach it and has the URL "
                "can read every run",
                file=sys.stderr,
                flush=True,
            )

    def answer_run(run_id: str, text: str | None) -> dict[str, Any]:
        from crewyard.human.answers import give_answer, resume_in_background

        asked = give_answer(settings, run_id, text)
        resume_in_background(settings, asked.run_id)
        return {"answered": asked.key, "run_id": asked.run_id, "resuming": True}

    try:
        serve(
            store, settings.cassettes_dir, args.host, args.port, ready=ready, answer_run=answer_run
        )
    finally:
        store.close()
    return ExitCode.OK
