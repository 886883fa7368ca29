"""DBOS, behind one module (the only dbos importer): durable workflows whose steps are
checkpointed in a database — SQLite in the data folder, or the Postgres of
CREWYARD_DATABASE_URL, where any number of workers share the queues.

A batch is a workflow that enqueues one child workflow per item on the batch's own queue (its
concurrency and rate), with the item's id in the child's workflow id, so an item is never
enqueued twice; a killed process's workflows are recovered from their last finished step.
What an item does is crewyard's (`set_item_runner`): this module only makes it durable."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID

from crewyard.errors import ConfigError
from crewyard.redact import redact
from crewyard.runs.sql import safe_url
from crewyard.runs.store import pid_alive
from crewyard.settings import usable_folder

APP = "crewyard"
APP_VERSION = "crewyard-durable-1"  # bump when a workflow's steps change
POLL_S = 0.05  # queue polling: a batch of short items must not wait on it
ItemRunner = Callable[[str, str], str]  # (batch id, item id) → the item's status
# (schedule context, the time it fired for, its workflow id) → what became of the firing
FiringRunner = Callable[[dict[str, Any], datetime, str], str]
SCHEDULE_PREFIX = "crewyard:"  # the DBOS schedules crewyard declares (others are left alone)
SCHEDULES_QUEUE = "crewyard-schedules"  # firings of overlap: skip schedules

_runner: ItemRunner | None = None
_firing_runner: FiringRunner | None = None
_launched: str | None = None  # the system database DBOS runs on in this process
_lock = threading.Lock()


def set_item_runner(runner: ItemRunner) -> None:
    """What running one batch item means (crewyard.durable.batch sets it)."""
    global _runner
    _runner = runner


def set_firing_runner(runner: FiringRunner) -> None:
    """What a schedule's firing does (crewyard.durable.schedules sets it)."""
    global _firing_runner
    _firing_runner = runner


def database_url(data_dir: Path, configured: str | None = None) -> str:
    """The run store's Postgres (CREWYARD_DATABASE_URL: many workers, many machines), else
    SQLite in the data folder (one machine)."""
    url = (configured or "").strip()
    if url:
        if not url.startswith(("postgresql://", "postgres://", "sqlite://")):
            raise ConfigError(
                f"CREWYARD_DATABASE_URL {safe_url(url)!r} is not a database URL",
                key="CREWYARD_DATABASE_URL",
                hint="postgresql://user@host:5432/crewyard, or unset it for SQLite",
            )
        return url
    return f"sqlite:///{(data_dir / 'durable.sqlite').resolve()}"


def executor_id() -> str:
    """This process's name among workers: host and pid, so that a dead process's workflows
    can be told apart from a live one's (`recover_dead`)."""
    return os.environ.get("CREWYARD_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}"


def launch(
    data_dir: Path, configured: str | None = None, queues: Sequence[str] | None = None
) -> None:
    """DBOS on the run store's database, once per process (again when the database changes).
    queues: take work only from these queues (a worker's --queues; default: every queue)."""
    global _launched
    url = database_url(data_dir, configured)
    if url.startswith("sqlite:///"):  # a fresh data folder: SQLite makes the file, not the folder
        usable_folder(data_dir, "the data folder")
        _write_ahead(Path(url.removeprefix("sqlite:///")))
    with _lock:
        if _launched == url:
            return
        if _launched is not None:
            DBOS.destroy(workflow_completion_timeout_sec=0)
        config: DBOSConfig = {
            "name": APP,
            "system_database_url": url,
            "executor_id": executor_id(),
            "application_version": APP_VERSION,
            # an item's failure is recorded with the item and reported by the batch; DBOS's
            # own report of it (a traceback on the console) would say it a second time
            "log_level": "CRITICAL",
            "enable_otlp": False,
            # a schedule declared by a worker that starts is seen by the others soon
            "scheduler_polling_interval_sec": 5.0,
        }
        _console_to_current_stderr()
        try:
            DBOS(config=config)
            if queues:
                DBOS.listen_queues(list(queues))
            DBOS.launch()
        except Exception as exc:
            raise ConfigError(
                f"the durable engine's database {safe_url(url)} cannot be used: {redact(str(exc))}",
                key="CREWYARD_DATABASE_URL",
                hint="start the database, fix CREWYARD_DATABASE_URL, or unset it for SQLite",
            ) from exc
        _launched = url


def _write_ahead(path: Path) -> None:
    """The durable engine's SQLite file in WAL mode (it stays so): a commit appends to the
    log instead of rewriting pages through a rollback journal (fewer syncs per step), and the
    processes of one machine read while another writes."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
        db.execute("PRAGMA journal_mode=WAL")


def _console_to_current_stderr() -> None:
    """DBOS's console handler keeps the stderr of its first launch, and flushes it at the next
    one: where stderr was replaced since (a notebook cell, a test), that stream may be closed."""
    for handler in logging.getLogger("dbos").handlers:
        if handler.name == "__dbos_console_log_handler__" and isinstance(
            handler, logging.StreamHandler
        ):
            handler.stream = sys.stderr  # not setStream: it flushes the closed one


def shutdown(wait_s: float = 0) -> None:
    """Stop taking work (waiting up to wait_s for what runs); what is left stays durable."""
    global _launched
    with _lock:
        if _launched is not None:
            DBOS.destroy(workflow_completion_timeout_sec=int(wait_s))
            _launched = None


def start_batch(batch_id: str, item_ids: list[str], concurrency: int, rate: float | None) -> Any:
    """Enqueue the batch (its queue: concurrency and rate per minute) and return its handle.
    Starting a batch that exists returns its handle: its finished items never run again."""
    queue = _batch_queue(batch_id, concurrency, rate)
    with SetWorkflowID(batch_id):
        return DBOS.start_workflow(_batch, batch_id, item_ids, queue)


BATCHES_QUEUE = "crewyard-batches"  # batches queued for workers (batch --detach)


def enqueue_batch(batch_id: str, item_ids: list[str], concurrency: int, rate: float | None) -> None:
    """Queue the batch for workers: the first worker free runs its workflow, which queues the
    items on the batch's own queue, where every worker takes them."""
    queue = _batch_queue(batch_id, concurrency, rate)
    DBOS.register_queue(BATCHES_QUEUE, polling_interval_sec=POLL_S * 10)
    with SetWorkflowID(batch_id):
        DBOS.enqueue_workflow(BATCHES_QUEUE, _batch, batch_id, item_ids, queue)


def _batch_queue(batch_id: str, concurrency: int, rate: float | None) -> str:
    """The batch's queue: at most `concurrency` items at once in each process that runs its
    items, at most `rate` a minute in all."""
    queue = f"batch-{batch_id}"
    limiter = {"limit": max(1, int(rate)), "period": 60.0} if rate else None
    DBOS.register_queue(
        queue,
        worker_concurrency=concurrency,
        limiter=limiter,  # type: ignore[arg-type]
        polling_interval_sec=POLL_S,
    )
    return queue


def batch_finished(handle: Any) -> bool:
    return str(handle.get_status().status) in ("SUCCESS", "ERROR", "CANCELLED")


def recover_dead(
    alive: Callable[[str], bool] | None = None, claim: Callable[[str], bool] | None = None
) -> list[str]:
    """Workflows left running by processes that are gone, recovered here (a killed batch or
    worker resumes from its last finished step). A process of this machine is gone when its
    pid is; one of another machine when `alive` (its heartbeat) says so. `claim` makes sure
    one process alone recovers a dead one's work."""
    host = socket.gethostname()
    pending = DBOS.list_workflows(status=["PENDING"], load_input=False, load_output=False)
    dead = {
        w.executor_id
        for w in pending
        if w.executor_id
        and w.executor_id != executor_id()
        and w.executor_id != "local"
        and (
            not pid_alive(_pid_of(w.executor_id))
            if w.executor_id.startswith(f"{host}-")
            else alive is not None and not alive(w.executor_id)
        )
    }
    dead = {d for d in dead if claim is None or claim(d)}
    if not dead:
        return []
    # no public twin: the recovery call DBOS runs at launch for its own executor id
    handles = DBOS._recover_pending_workflows(sorted(dead))
    return [h.get_workflow_id() for h in handles]


def _pid_of(executor: str) -> int | None:
    tail = executor.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def declare_schedules(declared: list[dict[str, Any]]) -> list[str]:
    """Make DBOS's schedules those declared (each: name, cron, timezone, overlap, context):
    new ones created, changed ones replaced, ones no crew declares any more deleted. Every
    worker may do this at once: a firing's workflow id is the schedule and the time, so a
    time fires once however many workers see it. Returns the names declared."""
    ours = {
        s["schedule_name"]: s for s in DBOS.list_schedules(schedule_name_prefix=SCHEDULE_PREFIX)
    }
    wanted = {SCHEDULE_PREFIX + d["name"]: d for d in declared}
    for name in set(ours) - set(wanted):
        DBOS.delete_schedule(name)
    for name, d in wanted.items():
        queue = _queue_for(d)
        cron = _six_fields(d["cron"])
        old = ours.get(name)
        if (
            old is not None
            and (old["schedule"], old["cron_timezone"], old["queue_name"])
            == (
                cron,
                d["timezone"],
                queue,
            )
            and old["context"] == d["context"]
        ):
            continue
        if old is not None:
            DBOS.delete_schedule(name)
        try:
            DBOS.create_schedule(
                schedule_name=name,
                workflow_fn=_scheduled,
                schedule=cron,
                context=d["context"],
                cron_timezone=d["timezone"],
                queue_name=queue,
            )
        except Exception as exc:  # another worker declared it a moment before
            if DBOS.get_schedule(name) is None:
                raise ConfigError(f"schedule {d['name']!r} cannot be declared: {exc}") from exc
    return sorted(wanted)


def _queue_for(d: dict[str, Any]) -> str:
    """overlap: queue → a queue of its own that runs one firing at a time (across workers);
    overlap: skip → the shared one (a firing that finds another running skips itself)."""
    if d["overlap"] != "queue":
        name = SCHEDULES_QUEUE
        DBOS.register_queue(name, polling_interval_sec=POLL_S * 10)
        return name
    name = f"crewyard-schedule-{d['name']}"
    DBOS.register_queue(name, global_concurrency=1, polling_interval_sec=POLL_S * 10)
    return name


def _six_fields(cron: str) -> str:
    """DBOS reads crons with seconds first: a five-field cron fires at second 0."""
    return cron if len(cron.split()) == 6 else f"0 {cron}"


def last_fired(name: str) -> datetime | None:
    """When DBOS last fired the schedule (None: never, or not declared yet)."""
    found = DBOS.get_schedule(SCHEDULE_PREFIX + name)
    stamp = found["last_fired_at"] if found else None
    return datetime.fromisoformat(stamp) if stamp else None


def fire_once(name: str, at: datetime) -> None:
    """Run the firing of `at` now if it never ran (a worker catching up on a missed time)."""
    tick = timedelta(microseconds=1)
    DBOS.backfill_schedule(SCHEDULE_PREFIX + name, at - tick, at + tick)


def others_running(schedule: str, workflow_id: str) -> list[str]:
    """Firings of the schedule still running, other than this one."""
    running = DBOS.list_workflows(
        status=["PENDING"],
        schedule_name=SCHEDULE_PREFIX + schedule,
        load_input=False,
        load_output=False,
    )
    return [w.workflow_id for w in running if w.workflow_id != workflow_id]


@DBOS.workflow(name="crewyard.scheduled")
def _scheduled(at: datetime, context: dict[str, Any]) -> None:
    _fire(context, at, DBOS.workflow_id or "")


@DBOS.step(name="crewyard.fire")
def _fire(context: dict[str, Any], at: datetime, workflow_id: str) -> str:
    if _firing_runner is None:
        raise ConfigError("this process cannot run schedules: no firing runner is set")
    return _firing_runner(context, at, workflow_id)


@DBOS.workflow(name="crewyard.batch")
def _batch(batch_id: str, item_ids: list[str], queue: str) -> str:
    handles = []
    for item_id in item_ids:
        with SetWorkflowID(f"{batch_id}/{item_id}"):
            handles.append(DBOS.enqueue_workflow(queue, _item, batch_id, item_id))
    for handle in handles:
        try:
            handle.get_result(polling_interval_sec=POLL_S * 2)
        except Exception:
            continue
    return batch_id


@DBOS.workflow(name="crewyard.batch_item")
def _item(batch_id: str, item_id: str) -> str:
    return _run_item(batch_id, item_id)


@DBOS.step(name="crewyard.run_item")
def _run_item(batch_id: str, item_id: str) -> str:
    if _runner is None:
        raise ConfigError("this process cannot run batch items: no item runner is set")
    return _runner(batch_id, item_id)
