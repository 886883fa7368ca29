"""The run store: every run, its task outputs as checkpoints, events and model calls (SQLite,
or Postgres shared by workers on many machines: crewyard/runs/database.py)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.errors import ConfigError, did_you_mean
from crewyard.redact import redact, redact_data
from crewyard.runs.database import connect
from crewyard.runs.sql import Database, Row

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
    """A durable journal, one committed transaction per write: a SQLite file (WAL,
    synchronous=FULL) or a Postgres database (a path, or the URL of Settings.run_store).
    Events and model-call rows commit without their own sync: the next durable write (a turn,
    a checkpoint, the run's end) syncs them with it, and a killed process loses none (only a
    power cut may lose those after the last durable write — as it may the cassette's replies,
    which are flushed, not synced: an fsync per call was ~4 ms of each)."""

    def __init__(self, location: Path | str) -> None:
        self._db: Database = connect(location)
        self.where = self._db.where  # for messages: never a password
        self.dialect = self._db.dialect
        self.mark_interrupted()

    def close(self) -> None:
        self._db.close()

    def mark_interrupted(self) -> int:
        """Runs left 'running' by a process of this machine that is gone become 'interrupted'
        (another machine's processes cannot be seen from here: its own store marks them)."""
        host = socket.gethostname()
        rows = self._db.fetchall("SELECT id, pid, host FROM runs WHERE status = ?", (ACTIVE,))
        stale = [
            r["id"]
            for r in rows
            if r["id"] not in _RUNNING_HERE
            and r["host"] in (None, host)
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
        row = self._db.fetchone(
            "SELECT COUNT(*) AS calls, COALESCE(SUM(prompt_tokens), 0) AS prompt,"
            " COALESCE(SUM(completion_tokens), 0) AS completion,"
            " COALESCE(SUM(cost_usd), 0) AS cost FROM model_calls"
            " WHERE run_id = ? AND cached = 0",
            (run_id,),
        )
        assert row is not None  # an aggregate has a row
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
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO runs (id, crew, inputs, status, engine, pid, started_at, usage,"
                " cost_usd, output_dir, log_file, replay_of, host)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
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
                    socket.gethostname(),
                ),
            )

    def checkpoint(
        self, run_id: str, task: str, agent: str | None, output: str, output_file: str | None = None
    ) -> None:
        """A finished task output, committed before the next task starts."""
        with self._db.transaction() as db:
            db.lock(f"run:{run_id}")  # one writer of this run's numbers at a time (Postgres)
            seq = _next_seq(db, "checkpoints", run_id)
            db.execute(  # a task checkpointed again (a resumed run) moves to the end
                "INSERT INTO checkpoints (run_id, seq, task, agent, output, output_file,"
                " created_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (run_id, task) DO UPDATE SET"
                " seq = excluded.seq, agent = excluded.agent, output = excluded.output,"
                " output_file = excluded.output_file, created_at = excluded.created_at",
                (run_id, seq, task, agent, redact(output), output_file, time.time()),
            )

    def turn(self, run_id: str, task: str, agent: str, content: str) -> None:
        """One message of a group chat (AutoGen), committed as it is said."""
        with self._db.transaction() as db:
            db.lock(f"run:{run_id}")
            seq = _next_seq(db, "turns", run_id)
            db.execute(
                "INSERT INTO turns (run_id, seq, task, agent, content, created_at)"
                " VALUES (?,?,?,?,?,?)",
                (run_id, seq, task, agent, redact(content), time.time()),
            )

    def turns(self, run_id: str) -> list[tuple[str, str, str]]:
        """(task, agent, content) of every group-chat message, in order."""
        rows = self._db.fetchall(
            "SELECT task, agent, content FROM turns WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [(r["task"], r["agent"], r["content"]) for r in rows]

    def event(self, run_id: str, kind: str, data: dict[str, Any], seq: int | None = None) -> None:
        """An event of the run; seq: its number when the caller counts them (a run's one
        EventSink does), saving a lookup per event."""
        # an fsync per event was ~7 ms of every AutoGen turn
        with self._db.transaction(durable=False) as db:
            if seq is None:
                db.lock(f"run:{run_id}")
                seq = _next_seq(db, "events", run_id)
            db.execute(
                "INSERT INTO events (run_id, seq, ts, kind, data) VALUES (?,?,?,?,?)",
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
        with self._db.transaction(durable=False) as db:
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
        with self._db.transaction() as db:
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

    def _record(self, row: Row) -> RunRecord:
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
        return [self._record(r) for r in self._db.fetchall(query, args)]

    def get(self, run_id: str) -> RunRecord:
        row = self._db.fetchone("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            rows = self._db.fetchall(
                "SELECT * FROM runs WHERE id LIKE ? ORDER BY id LIMIT 2", (f"{run_id}%",)
            )
            if len(rows) == 1:
                row = rows[0]
        if row is None:
            recent = [r.id for r in self.recent(50)]
            raise ConfigError(
                f"no run {run_id!r} in {self.where}",
                hint=did_you_mean(run_id, recent) or "list runs with: python main.py runs",
            )
        return self._record(row)

    def checkpoints(self, run_id: str) -> list[Checkpoint]:
        rows = self._db.fetchall(
            "SELECT * FROM checkpoints WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [
            Checkpoint(r["task"], r["agent"], r["output"], r["output_file"], r["created_at"])
            for r in rows
        ]

    def events(self, run_id: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._db.fetchall(
            "SELECT kind, data FROM events WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        return [(r["kind"], json.loads(r["data"])) for r in rows]

    def model_calls(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._db.fetchall(
            "SELECT * FROM model_calls WHERE run_id = ? ORDER BY ts", (run_id,)
        )
        return [dict(r) for r in rows]

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[Row]:
        """A read-only query over the store's tables (reports), in SQL both dialects read."""
        return self._db.fetchall(sql, args)


def _next_seq(db: Database, table: str, run_id: str) -> int:
    row = db.fetchone(f"SELECT COALESCE(MAX(seq), -1) + 1 FROM {table} WHERE run_id = ?", (run_id,))
    return int(row[0]) if row is not None else 0
