"""python main.py worker: run queued batch items and scheduled crews until stopped."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from typing import Any

from crewyard.cli.args import positive_float, positive_int
from crewyard.cli.output import program_name
from crewyard.errors import ExitCode
from crewyard.observe import spans


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} worker",
        description="Run batch items waiting in the queues and the schedules of crew.yaml "
        "files until stopped (SIGTERM or Ctrl-C: no new work, what runs may finish, exit 0). "
        "Start several, on several machines, against one Postgres (CREWYARD_DATABASE_URL) to "
        "share the work.",
    )
    p.add_argument(
        "--queues",
        metavar="Q,Q",
        help="take work only from these queues (batch-BATCH_ID, crewyard-schedules, …)",
    )
    p.add_argument(
        "--concurrency", type=positive_int, metavar="N", help="at most N runs at once here"
    )
    p.add_argument("--crews", metavar="A,B", help="declare the schedules of these crews only")
    p.add_argument("--no-schedules", action="store_true", help="run queued work only")
    p.add_argument(
        "--grace",
        type=positive_float,
        default=30.0,
        metavar="S",
        help="on SIGTERM, seconds what runs may take to finish (30); the rest resumes later",
    )
    return p


def run(argv: list[str]) -> int:
    from crewyard.durable.worker import WorkerOptions, run_worker
    from crewyard.observe.logs import configure
    from crewyard.settings import Settings

    args = parser().parse_args(argv)
    settings = Settings.for_command_line()
    configure("WARNING")
    stop = threading.Event()

    def stopping(signum: int, frame: Any) -> None:
        if stop.is_set():  # asked twice: stop at once (what runs resumes on the next start)
            os._exit(ExitCode.INTERRUPTED)
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    options = WorkerOptions(
        queues=_names(args.queues),
        concurrency=args.concurrency,
        crews=_names(args.crews),
        schedules=not args.no_schedules,
        grace_s=args.grace,
        said=lambda line: print(line, file=sys.stderr, flush=True),
    )
    code = run_worker(settings, options, stop)
    sys.stdout.flush()
    sys.stderr.flush()
    spans.flush()  # os._exit skips the exporters' flush at exit
    os._exit(code)  # the durable engine's threads (and a parked item or two) stay behind


def _names(text: str | None) -> list[str] | None:
    names = [n.strip() for n in (text or "").split(",") if n.strip()]
    return names or None
