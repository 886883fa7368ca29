"""Batches in the run store: each batch, and each of its items with its status, its run, its
output or error and what it spent. The durable engine decides when an item runs; this is the
record a user reads (`batch status`), and the one results files are written from."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.errors import ConfigError, did_you_mean
from crewyard.redact import redact, redact_data
from crewyard.runs.database import connect
from crewyard.runs.sql import Row

QUEUED, RUNNING, DONE, FAILED, SKIPPED = "queued", "running", "done", "failed", "skipped"
FINISHED = (DONE, FAILED, SKIPPED)


@dataclass(frozen=True)
class Batch:
    id: str
    crew: str
    source: str | None  # the items file
    out: str | None  # the results file
    status: str  # running, done (every item done), failed (some failed or skipped)
    created_at: float
    finished_at: float | None
    concurrency: int
    rate: float | None  # items per minute
    max_tokens: int | None
    max_cost_usd: float | None
    models: dict[str, str]  # --model overrides


@dataclass(frozen=True)
class Item:
    batch_id: str
    item_id: str
    seq: int
    line: int | None
    inputs: dict[str, Any]
    status: str
    run_id: str | None
    output: str | None
    error: str | None
    tokens: int
    cost_usd: float
    attempts: int


class BatchStore:
    """Batches and their items, in the run store's database (a connection of its own)."""

    def __init__(self, location: Path | str) -> None:
        self._db = connect(location)  # a path (SQLite) or a URL (Settings.run_store)
        self.where = self._db.where  # for messages: never a password

    def close(self) -> None:
        self._db.close()

    def create(self, batch: Batch, items: Sequence[tuple[str, int | None, dict[str, Any]]]) -> None:
        """A new batch and its items (id, line, inputs), all queued, in one transaction."""
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO batches (id, crew, source, out, status, created_at, concurrency,"
                " rate, max_tokens, max_cost_usd, models) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    batch.id,
                    batch.crew,
                    batch.source,
                    batch.out,
                    batch.status,
                    batch.created_at,
                    batch.concurrency,
                    batch.rate,
                    batch.max_tokens,
                    batch.max_cost_usd,
                    json.dumps(batch.models),
                ),
            )
            db.executemany(
                "INSERT INTO batch_items (batch_id, item_id, seq, line, inputs, status)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (batch.id, item_id, seq, line, json.dumps(redact_data(inputs)), QUEUED)
                    for seq, (item_id, line, inputs) in enumerate(items)
                ],
            )

    def get(self, batch_id: str) -> Batch:
        """A batch by its id or a unique prefix of it."""
        rows = self._db.fetchall(
            "SELECT * FROM batches WHERE id = ? OR id LIKE ? ORDER BY id",
            (batch_id, f"{batch_id}%"),
        )
        exact = [r for r in rows if r["id"] == batch_id]
        if exact or len(rows) == 1:
            return _batch((exact or rows)[0])
        known = [b.id for b in self.recent(50)]
        raise ConfigError(
            f"no batch {batch_id!r} in {self.where}"
            + (f" ({len(rows)} batches start so)" if rows else ""),
            hint=did_you_mean(batch_id, known) or "list batches with: python main.py batch list",
        )

    def recent(self, limit: int = 20) -> list[Batch]:
        rows = self._db.fetchall(
            "SELECT * FROM batches ORDER BY created_at DESC, id DESC LIMIT ?", (limit,)
        )
        return [_batch(r) for r in rows]

    def items(self, batch_id: str, status: str | None = None) -> list[Item]:
        query = "SELECT * FROM batch_items WHERE batch_id = ?"
        args: tuple[Any, ...] = (batch_id,)
        if status is not None:
            query, args = query + " AND status = ?", (*args, status)
        rows = self._db.fetchall(query + " ORDER BY seq", args)
        return [_item(r) for r in rows]

    def item(self, batch_id: str, item_id: str) -> Item:
        row = self._db.fetchone(
            "SELECT * FROM batch_items WHERE batch_id = ? AND item_id = ?", (batch_id, item_id)
        )
        if row is None:
            raise ConfigError(f"batch {batch_id} has no item {item_id!r}")
        return _item(row)

    def start_item(self, batch_id: str, item_id: str, run_id: str) -> None:
        """The item runs now, as run_id (a resume of the item reuses that run's calls)."""
        with self._db.transaction() as db:
            db.execute(
                "UPDATE batch_items SET status = ?, attempts = attempts + 1, started_at = ?,"
                " run_id = ? WHERE batch_id = ? AND item_id = ?",
                (RUNNING, time.time(), run_id, batch_id, item_id),
            )

    def finish_item(
        self,
        batch_id: str,
        item_id: str,
        status: str,
        *,
        run_id: str | None = None,
        output: str | None = None,
        error: str | None = None,
        tokens: int = 0,
        cost_usd: float = 0.0,
    ) -> None:
        with self._db.transaction() as db:
            db.execute(
                "UPDATE batch_items SET status = ?, run_id = COALESCE(?, run_id), output = ?,"
                " error = ?, tokens = ?, cost_usd = ?, finished_at = ?"
                " WHERE batch_id = ? AND item_id = ?",
                (
                    status,
                    run_id,
                    redact(output) if output is not None else None,
                    redact(error) if error else None,
                    tokens,
                    cost_usd,
                    time.time(),
                    batch_id,
                    item_id,
                ),
            )

    def counts(self, batch_id: str) -> dict[str, Any]:
        """Items by status, and what the finished ones spent."""
        rows = self._db.fetchall(
            "SELECT status, COUNT(*) AS n, SUM(tokens) AS tokens, SUM(cost_usd) AS cost"
            " FROM batch_items WHERE batch_id = ? GROUP BY status",
            (batch_id,),
        )
        counts: dict[str, Any] = {s: 0 for s in (QUEUED, RUNNING, DONE, FAILED, SKIPPED)}
        counts.update({r["status"]: r["n"] for r in rows})
        counts["tokens"] = sum(r["tokens"] or 0 for r in rows)
        counts["cost_usd"] = sum(r["cost"] or 0.0 for r in rows)
        counts["items"] = sum(r["n"] for r in rows)
        return counts

    def finish(self, batch_id: str, status: str) -> None:
        with self._db.transaction() as db:
            db.execute(
                "UPDATE batches SET status = ?, finished_at = ? WHERE id = ?",
                (status, time.time(), batch_id),
            )

    def reopen(self, batch_id: str) -> None:
        """A batch resumed: running again, its unfinished items queued again."""
        with self._db.transaction() as db:
            db.execute(
                "UPDATE batches SET status = 'running', finished_at = NULL WHERE id = ?",
                (batch_id,),
            )
            db.execute(
                "UPDATE batch_items SET status = ? WHERE batch_id = ? AND status = ?",
                (QUEUED, batch_id, RUNNING),
            )


def _batch(row: Row) -> Batch:
    return Batch(
        id=row["id"],
        crew=row["crew"],
        source=row["source"],
        out=row["out"],
        status=row["status"],
        created_at=row["created_at"],
        finished_at=row["finished_at"],
        concurrency=row["concurrency"],
        rate=row["rate"],
        max_tokens=row["max_tokens"],
        max_cost_usd=row["max_cost_usd"],
        models=json.loads(row["models"] or "{}"),
    )


def _item(row: Row) -> Item:
    return Item(
        batch_id=row["batch_id"],
        item_id=row["item_id"],
        seq=row["seq"],
        line=row["line"],
        inputs=json.loads(row["inputs"]),
        status=row["status"],
        run_id=row["run_id"],
        output=row["output"],
        error=row["error"],
        tokens=row["tokens"],
        cost_usd=row["cost_usd"],
        attempts=row["attempts"],
    )
