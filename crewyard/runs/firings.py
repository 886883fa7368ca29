"""Schedule firings and the workers that run them, in the run store's database: what each
firing of a schedule became (its run or batch, done, failed or skipped, and why), and each
worker's heartbeat, by which a worker whose process died on another machine is told apart
from one that is only busy."""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.redact import redact
from crewyard.runs.database import connect

FIRED, DONE, FAILED, SKIPPED = "running", "done", "failed", "skipped"


@dataclass(frozen=True)
class Firing:
    id: str  # the durable engine's workflow id: the schedule and the time it fired for
    schedule: str
    crew: str
    fired_for: float  # the cron time, not when a worker got to it
    started_at: float
    finished_at: float | None
    status: str
    run_id: str | None
    batch_id: str | None
    note: str | None


class FiringStore:
    """Firings and worker heartbeats (a connection of its own)."""

    def __init__(self, location: Path | str) -> None:
        self._db = connect(location)
        self.where = self._db.where

    def close(self) -> None:
        self._db.close()

    def start(self, firing_id: str, schedule: str, crew: str, fired_for: float) -> Firing:
        """The firing, recorded when first seen (a recovered firing finds its record)."""
        with self._db.transaction() as db:
            found = db.fetchone("SELECT * FROM firings WHERE id = ?", (firing_id,))
            if found is None:
                db.execute(
                    "INSERT INTO firings (id, schedule, crew, fired_for, started_at, status)"
                    " VALUES (?,?,?,?,?,?)",
                    (firing_id, schedule, crew, fired_for, time.time(), FIRED),
                )
        return self.get(firing_id)

    def get(self, firing_id: str) -> Firing:
        row = self._db.fetchone("SELECT * FROM firings WHERE id = ?", (firing_id,))
        assert row is not None, firing_id
        return _firing(row)

    def running_as(
        self, firing_id: str, *, run_id: str | None = None, batch_id: str | None = None
    ) -> None:
        with self._db.transaction() as db:
            db.execute(
                "UPDATE firings SET run_id = COALESCE(?, run_id), batch_id = COALESCE(?, batch_id)"
                " WHERE id = ?",
                (run_id, batch_id, firing_id),
            )

    def finish(self, firing_id: str, status: str, note: str | None = None) -> None:
        with self._db.transaction() as db:
            db.execute(
                "UPDATE firings SET status = ?, note = ?, finished_at = ? WHERE id = ?",
                (status, redact(note) if note else None, time.time(), firing_id),
            )

    def recent(self, schedule: str | None = None, limit: int = 20) -> list[Firing]:
        where, args = (" WHERE schedule = ?", (schedule,)) if schedule else ("", ())
        rows = self._db.fetchall(
            f"SELECT * FROM firings{where} ORDER BY fired_for DESC, id DESC LIMIT ?",
            (*args, limit),
        )
        return [_firing(r) for r in rows]

    def beat(self, worker_id: str, queues: list[str] | None = None) -> None:
        """This worker is alive now."""
        now = time.time()
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO workers (id, host, pid, queues, started_at, beat_at)"
                " VALUES (?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET beat_at = ?",
                (
                    worker_id,
                    socket.gethostname(),
                    os.getpid(),
                    ",".join(queues or []),
                    now,
                    now,
                    now,
                ),
            )

    def alive(self, worker_id: str, within_s: float) -> bool:
        """Whether the worker beat in the last within_s seconds. An executor that never beat
        (a `batch` process of another machine) is taken as alive: only its own host knows."""
        row = self._db.fetchone("SELECT beat_at FROM workers WHERE id = ?", (worker_id,))
        if row is None:
            return True
        beat = float(row["beat_at"])
        return beat > 0 and beat >= time.time() - within_s  # 0: stopped, -1: recovered

    def gone(self, worker_id: str) -> None:
        """A worker stopped: it beats no more, so another worker recovers what it left."""
        with self._db.transaction() as db:
            db.execute("UPDATE workers SET beat_at = 0 WHERE id = ?", (worker_id,))

    def claim(self, executor: str) -> bool:
        """Whether this process is the one that recovers the dead executor's work (the first
        to ask); its row is marked claimed either way."""
        with self._db.transaction() as db:
            cursor = db.execute(
                "INSERT INTO workers (id, host, pid, queues, started_at, beat_at)"
                " VALUES (?, '', 0, '', ?, -1)"
                " ON CONFLICT (id) DO UPDATE SET beat_at = -1 WHERE workers.beat_at >= 0",
                (executor, time.time()),
            )
            return bool(cursor.rowcount == 1)

    def workers(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._db.fetchall("SELECT * FROM workers ORDER BY id")]


def _firing(row: Any) -> Firing:
    return Firing(
        id=row["id"],
        schedule=row["schedule"],
        crew=row["crew"],
        fired_for=row["fired_for"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        status=row["status"],
        run_id=row["run_id"],
        batch_id=row["batch_id"],
        note=row["note"],
    )
