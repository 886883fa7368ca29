"""DBOS, behind one module (the only dbos importer): durable workflows whose steps are
checkpointed in a database — SQLite in the data folder, or the Postgres of
CREWYARD_DATABASE_URL, where any number of workers share the queues.

A batch is a workflow that enqueues one child workflow per item on the batch's own queue (its
concurrency and rate), with the item's id in the child's workflow id, so an item is never
enqueued twice; a killed process's workflows are recovered from their last finished step.
What an item does is crewyard's (`set_item_runner`): this module only makes it durable."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbos import DBOS, DBOSConfig, SetWorkflowID

from crewyard.errors import ConfigError
from crewyard.runs.store import pid_alive

APP = "crewyard"
APP_VERSION = "crewyard-durable-1"  # bump when a workflow's steps change
POLL_S = 0.05  # queue polling: a batch of short items must not wait on it
ItemRunner = Callable[[str, str], str]  # (batch id, item id) → the item's status

_runner: ItemRunner | None = None
_launched: str | None = None  # the system database DBOS runs on in this process
_lock = threading.Lock()


def set_item_runner(runner: ItemRunner) -> None:
    """What running one batch item means (crewyard.durable.batch sets it)."""
    global _runner
    _runner = runner


def database_url(data_dir: Path) -> str:
    """CREWYARD_DATABASE_URL (Postgres: many workers, many machines), else SQLite in the data
    folder (one machine)."""
    url = os.environ.get("CREWYARD_DATABASE_URL", "").strip()
    if url:
        if not url.startswith(("postgresql://", "postgres://", "sqlite://")):
            raise ConfigError(
                f"CREWYARD_DATABASE_URL {url.split('@')[-1]!r} is not a database URL",
                key="CREWYARD_DATABASE_URL",
                hint="postgresql://user@host:5432/crewyard, or unset it for SQLite",
            )
        return url
    return f"sqlite:///{(data_dir / 'durable.sqlite').resolve()}"


def executor_id() -> str:
    """This process's name among workers: host and pid, so that a dead process's workflows
    can be told apart from a live one's (`recover_dead`)."""
    return os.environ.get("CREWYARD_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}"


def launch(data_dir: Path) -> None:
    """DBOS on the configured database, once per process (again when the database changes)."""
    global _launched
    url = database_url(data_dir)
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
        }
        _console_to_current_stderr()
        try:
            DBOS(config=config)
            DBOS.launch()
        except Exception as exc:
            raise ConfigError(
                f"the durable engine's database {url.split('@')[-1]} cannot be used: {exc}",
                key="CREWYARD_DATABASE_URL",
                hint="start the database, fix CREWYARD_DATABASE_URL, or unset it for SQLite",
            ) from exc
        _launched = url


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
    queue = f"batch-{batch_id}"
    limiter = {"limit": max(1, int(rate)), "period": 60.0} if rate else None
    DBOS.register_queue(
        queue,
        worker_concurrency=concurrency,
        limiter=limiter,  # type: ignore[arg-type]
        polling_interval_sec=POLL_S,
    )
    with SetWorkflowID(batch_id):
        return DBOS.start_workflow(_batch, batch_id, item_ids, queue)


def batch_finished(handle: Any) -> bool:
    return str(handle.get_status().status) in ("SUCCESS", "ERROR", "CANCELLED")


def recover_dead() -> list[str]:
    """Workflows left running by processes of this machine that are gone, recovered here (a
    killed batch or worker resumes from its last finished step)."""
    host = socket.gethostname()
    pending = DBOS.list_workflows(status=["PENDING"], load_input=False, load_output=False)
    dead = {
        w.executor_id
        for w in pending
        if w.executor_id
        and w.executor_id != executor_id()
        and w.executor_id.startswith(f"{host}-")
        and not pid_alive(_pid_of(w.executor_id))
    }
    if not dead:
        return []
    # no public twin: the recovery call DBOS runs at launch for its own executor id
    handles = DBOS._recover_pending_workflows(sorted(dead))
    return [h.get_workflow_id() for h in handles]


def _pid_of(executor: str) -> int | None:
    tail = executor.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


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
