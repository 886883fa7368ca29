"""The run store: every run, its task outputs as checkpoints, events and model calls (SQLite)."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.errors import ConfigError, did_you_mean
from crewyard.redact import redact, redact_data
from crewyard.runs.database import open_database, unusable
from crewyard.settings import usable_folder

ACTIVE = "running"
# Runs this process is running now, whichever RunStore object started them.
_RUNNING_HERE: set[str] = set()


@dataclass(frozen=True)
class Checkpoint:
    task: str
    agent: str | None
    output: str
    output_file: str | None
    created_at: float


@dataclass(frozen=True)
class RunRecord:
    id: str
    crew: str
    inputs: dict[str, Any]
    status: str
    engine: str | None
    started_at: float
    finished_at: float | None
    output: str | None
    usage: dict[str, Any]
    cost_usd: float
    error: str | None
    output_dir: str | None
    log_file: str | None
    replay_of: str | None = None  # the run whose cassette this run replayed


def new_run_id() -> str:
    """Sortable by start time, unique across processes."""
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunStore:
    """A durable journal: WAL, synchronous=FULL, one committed transaction per write. Events
    alone commit without their own fsync: the next durable write (a model call, a turn, a
    checkpoint, the run's end) syncs the WAL and them with it, and a killed process loses
    none (only a power cut may lose the events after the last durable write)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        usable_folder(path.parent, "the data folder")
        self._lock = threading.Lock()
        try:
            self._db = open_database(path)
        except sqlite3.DatabaseError as exc:
            raise unusable(path, exc) from None
        self.mark_interrupted()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if not durable:  # an fsync per event was ~7 ms of every AutoGen turn
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if not durable:
                    self._db.execute("PRAGMA synchronous=FULL")

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process that is gone become 'interrupted'."""
        with self._lock:
            rows = self._db.execute("SELECT id, pid FROM runs WHERE status = ?", (ACTIVE,))
            stale = [
                r["id"]
                for r in rows.fetchall()
                if r["id"] not in _RUNNING_HERE
                and (r["pid"] == os.getpid() or not pid_alive(r["pid"]))
            ]
        for run_id in stale:
            usage = self.usage_of(run_id)
            self.finish(
                run_id,
                "interrupted",
                usage=usage,
                cost_usd=usage["cost_usd"],
                error="the process running it stopped",
            )
        return len(stale)

    def usage_of(self, run_id: str) -> dict[str, Any]:
        """What a run's recorded model calls spent (for a run that could not say so itself)."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt,"
                " COALESCE(SUM(completion_tokens), 0) AS completion,"
                " COALESCE(SUM(cost_usd), 0) AS cost FROM model_calls"
                " WHERE run_id = ? AND NOT cached",
                (run_id,),
            ).fetchone()
        return {
            "calls": row["calls"],
            "prompt_tokens": row["prompt"],
            "completion_tokens": row["completion"],
            "total_tokens": row["prompt"] + row["completion"],
            "cost_usd": row["cost"],
        }

    def start(
        self,
        run_id: str,
        crew: str,
        inputs: dict[str, Any],
        engine: str,
        output_dir: Path,
        log_file: Path | None,
        replay_of: str | None = None,
    ) -> None:
        _RUNNING_HERE.add(run_id)
        with self._tx() as db:
            db.execute(
                "INSERT INTO runs (id, crew, inputs, status, engine, pid, started_at, usage,"
                " cost_usd, output_dir, log_file, replay_of) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    crew,
                    json.dumps(redact_data(inputs)),
                    ACTIVE,
                    engine,
                    os.getpid(),
                    time.time(),
                    "{}",
                    0.0,
                    str(output_dir),
                    str(log_file) if log_file else None,
                    replay_of,
                ),
            )

    def checkpoint(
        self, run_id: str, task: str, agent: str | None, output: str, output_file: str | None = None
    ) -> None:
        """A finished task output, committed before the next task starts."""
        with self._tx() as db:
            seq = db.execute(
                "SELECT COUNT(*) FROM checkpoints WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            db.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?,?,?,?,?,?,?)",
                (run_id, seq, task, agent, redact(output), output_file, time.time()),
            )

    def turn(self, run_id: str, task: str, agent: str, content: str) -> None:
        """One message of a group chat (AutoGen), committed as it is said."""
        with self._tx() as db:
            seq = db.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM turns WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO turns VALUES (?,?,?,?,?,?)",
                (run_id, seq, task, agent, redact(content), time.time()),
            )

    def turns(self, run_id: str) -> list[tuple[str, str, str]]:
        """(task, agent, content) of every group-chat message, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT task, agent, content FROM turns WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        return [(r["task"], r["agent"], r["content"]) for r in rows]

    def event(self, run_id: str, kind: str, data: dict[str, Any]) -> None:
        with self._tx(durable=False) as db:
            seq = db.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM events WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            db.execute(
                "INSERT INTO events VALUES (?,?,?,?,?)",
                (run_id, seq, time.time(), kind, json.dumps(redact_data(data), default=str)),
            )

    def model_call(
        self,
        run_id: str,
        *,
        alias: str,
        model: str,
        agent: str | None,
        task: str | None,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
        latency_ms: float,
        error: str | None,
        cached: bool = False,
        attempt: int = 1,
        cost_saved: float = 0.0,
        note: str | None = None,
        replayed: bool = False,
        fallback_from: str | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO model_calls (run_id, ts, alias, model, agent, task, prompt_tokens,"
                " completion_tokens, cost_usd, latency_ms, error, cached, attempt, cost_saved,"
                " note, replayed, fallback_from) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    time.time(),
                    alias,
                    model,
                    agent,
                    task,
                    prompt_tokens,
                    completion_tokens,
                    cost_usd,
                    latency_ms,
                    redact(error) if error else None,
                    int(cached),
                    attempt,
                    cost_saved,
                    redact(note) if note else None,
                    int(replayed),
                    fallback_from,
                ),
            )

    def finish(
        self,
        run_id: str,
        status: str,
        *,
        output: str | None = None,
        usage: dict[str, Any] | None = None,
        cost_usd: float | None = None,
        error: str | None = None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET status=?, finished_at=?, output=COALESCE(?, output),"
                " usage=COALESCE(?, usage), cost_usd=COALESCE(?, cost_usd), error=? WHERE id=?",
                (
                    status,
                    time.time(),
                    redact(output) if output is not None else None,
                    json.dumps(usage) if usage is not None else None,
                    cost_usd,
                    redact(error) if error else None,
                    run_id,
                ),
            )
        _RUNNING_HERE.discard(run_id)

    def _record(self, row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            crew=row["crew"],
            inputs=json.loads(row["inputs"]),
            status=row["status"],
            engine=row["engine"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            output=row["output"],
            usage=json.loads(row["usage"] or "{}"),
            cost_usd=row["cost_usd"] or 0.0,
            error=row["error"],
            output_dir=row["output_dir"],
            log_file=row["log_file"],
            replay_of=row["replay_of"],
        )

    def recent(self, limit: int = 20, crew: str | None = None) -> list[RunRecord]:
        query = "SELECT * FROM runs" + (" WHERE crew = ?" if crew else "")
        query += " ORDER BY started_at DESC, id DESC LIMIT ?"
        args: tuple[Any, ...] = (crew, limit) if crew else (limit,)
        with self._lock:
            return [self._record(r) for r in self._db.execute(query, args).fetchall()]

    def get(self, run_id: str) -> RunRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                rows = self._db.execute(
                    "SELECT id FROM runs WHERE id LIKE ? ORDER BY id", (f"{run_id}%",)
                ).fetchall()
                if len(rows) == 1:
                    row = self._db.execute(
                        "SELECT * FROM runs WHERE id = ?", (rows[0]["id"],)
                    ).fetchone()
        if row is None:
            recent = [r.id for r in self.recent(50)]
            raise ConfigError(
                f"no run {run_id!r} in {self.path}",
                hint=did_you_mean(run_id, recent) or "list runs with: python main.py runs",
            )
        return self._record(row)

    def checkpoints(self, run_id: str) -> list[Checkpoint]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM checkpoints WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        return [
            Checkpoint(r["task"], r["agent"], r["output"], r["output_file"], r["created_at"])
            for r in rows
        ]

    def events(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, data FROM events WHERE run_id = ? ORDER BY seq", (run_id,)
            ).fetchall()
        return [(r["kind"], json.loads(r["data"])) for r in rows]

    def model_calls(self, run_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM model_calls WHERE run_id = ? ORDER BY ts", (run_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """A read-only query over the store's tables (reports)."""
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())
