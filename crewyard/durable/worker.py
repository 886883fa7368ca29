"""`python main.py worker`: a long-lived process that runs queued batch items and schedule
firings until it is told to stop. Many workers on many machines share the queues through one
Postgres (CREWYARD_DATABASE_URL); each beats a heartbeat into the run store, and a worker whose
heartbeat stopped has its unfinished work recovered by another. SIGTERM (or Ctrl-C) stops taking
work, lets what runs finish within a grace period, and exits 0: what did not finish stays
durable, and resumes from its recorded steps and calls on the next start."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from crewyard.durable import engine, schedules
from crewyard.durable.batch import run_item
from crewyard.durable.deadlines import SWEEP_S, take_defaults
from crewyard.durable.heartbeat import Heartbeat
from crewyard.durable.runner import CrewRunner
from crewyard.settings import Settings


@dataclass
class WorkerOptions:
    queues: list[str] | None = None  # take work only from these (default: all)
    concurrency: int | None = None  # runs at once in this process (default: each queue's)
    crews: list[str] | None = None  # declare the schedules of these crews (default: all)
    schedules: bool = True  # declare and fire schedules
    grace_s: float = 30.0  # on SIGTERM, how long what runs may take to finish
    said: Callable[[str], None] = field(default=print)


def run_worker(settings: Settings, options: WorkerOptions, stop: threading.Event) -> int:
    """Run until `stop` is set; returns the exit code (0: stopped as asked)."""
    runner = CrewRunner(settings, options.concurrency)
    engine.set_item_runner(lambda batch_id, item_id: run_item(runner, batch_id, item_id))
    engine.set_firing_runner(
        lambda context, at, firing_id: schedules.fire(settings, runner, context, at, firing_id)
    )
    engine.launch(settings.data_dir, settings.database_url, options.queues)
    try:
        with Heartbeat(settings, options.queues) as heart:
            heart.recover()
            if options.schedules:
                found, broken = schedules.declared(settings, options.crews)
                for problem in broken:
                    options.said(f"warning: crew {problem}")
                names = schedules.declare(found)
                options.said(f"worker {heart.me}: {len(names)} schedule(s) declared")
            listening = ", ".join(options.queues) if options.queues else "every queue"
            options.said(f"worker {heart.me} is taking work from {listening} (Ctrl-C stops it)")
            sweep = time.monotonic()
            while not stop.wait(1.0):
                if time.monotonic() >= sweep:  # parked runs whose answer is overdue
                    take_defaults(runner, options.said)
                    sweep = time.monotonic() + SWEEP_S
            running = runner.active
            options.said(
                f"worker {heart.me} is stopping: taking no new work; {running} run(s) under way "
                f"have {options.grace_s:.0f} s to finish"
            )
            started = time.monotonic()
            finished = runner.drain(options.grace_s)
            left = "" if finished else f"; {runner.active} left unfinished, to be resumed"
            options.said(
                f"worker {heart.me} stopped after {time.monotonic() - started:.1f} s{left}"
            )
    finally:
        runner.close()
    return 0
