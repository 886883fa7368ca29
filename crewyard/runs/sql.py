"""What the run store's two dialects share: one schema in portable types, the columns an older
store lacks, the Database interface the stores write their SQL (`?` placeholders) against, and
how a database is named in messages (never with its password)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

# Portable types: DOUBLE PRECISION for times and dollars (Postgres REAL is 4 bytes, too small
# for a timestamp), BIGINT for tokens and counts.
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, crew TEXT NOT NULL, inputs TEXT NOT NULL, status TEXT NOT NULL,
  engine TEXT, pid BIGINT, started_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION,
  output TEXT, usage TEXT, cost_usd DOUBLE PRECISION, error TEXT, output_dir TEXT,
  log_file TEXT, replay_of TEXT, host TEXT
);
CREATE TABLE IF NOT EXISTS checkpoints (
  run_id TEXT NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL, task TEXT NOT NULL,
  agent TEXT, output TEXT NOT NULL, output_file TEXT, created_at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (run_id, task)
);
CREATE TABLE IF NOT EXISTS events (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, ts DOUBLE PRECISION NOT NULL, kind TEXT NOT NULL,
  data TEXT NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS model_calls (
  run_id TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL, alias TEXT NOT NULL, model TEXT NOT NULL,
  agent TEXT, task TEXT, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT NULL,
  cost_usd DOUBLE PRECISION NOT NULL, latency_ms DOUBLE PRECISION NOT NULL, error TEXT,
  cached INTEGER NOT NULL DEFAULT 0, attempt INTEGER NOT NULL DEFAULT 1,
  cost_saved DOUBLE PRECISION NOT NULL DEFAULT 0, note TEXT,
  replayed INTEGER NOT NULL DEFAULT 0, fallback_from TEXT
);
CREATE TABLE IF NOT EXISTS turns (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, task TEXT NOT NULL, agent TEXT NOT NULL,
  content TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS batches (
  id TEXT PRIMARY KEY, crew TEXT NOT NULL, source TEXT, out TEXT, status TEXT NOT NULL,
  created_at DOUBLE PRECISION NOT NULL, finished_at DOUBLE PRECISION,
  concurrency INTEGER NOT NULL, rate DOUBLE PRECISION, max_tokens BIGINT,
  max_cost_usd DOUBLE PRECISION, models TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS batch_items (
  batch_id TEXT NOT NULL REFERENCES batches(id), item_id TEXT NOT NULL, seq INTEGER NOT NULL,
  line INTEGER, inputs TEXT NOT NULL, status TEXT NOT NULL, run_id TEXT, output TEXT,
  error TEXT, tokens BIGINT NOT NULL DEFAULT 0, cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, started_at DOUBLE PRECISION,
  finished_at DOUBLE PRECISION, PRIMARY KEY (batch_id, item_id)
);
CREATE TABLE IF NOT EXISTS firings (
  id TEXT PRIMARY KEY, schedule TEXT NOT NULL, crew TEXT NOT NULL,
  fired_for DOUBLE PRECISION NOT NULL, started_at DOUBLE PRECISION NOT NULL,
  finished_at DOUBLE PRECISION, status TEXT NOT NULL, run_id TEXT, batch_id TEXT, note TEXT
);
CREATE TABLE IF NOT EXISTS workers (
  id TEXT PRIMARY KEY, host TEXT NOT NULL, pid BIGINT NOT NULL, queues TEXT,
  started_at DOUBLE PRECISION NOT NULL, beat_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS questions (
  run_id TEXT NOT NULL, key TEXT NOT NULL, prompt TEXT NOT NULL, context TEXT, task TEXT,
  agent TEXT, default_answer TEXT, asked_at DOUBLE PRECISION NOT NULL,
  deadline DOUBLE PRECISION, answer TEXT, answered_at DOUBLE PRECISION, answered_by TEXT,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX IF NOT EXISTS firings_schedule ON firings(schedule, fired_for);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE INDEX IF NOT EXISTS calls_run ON model_calls(run_id)
"""

# Columns a store made by an older version may lack (table -> column -> type).
ADDED_COLUMNS = {
    "model_calls": {
        "cached": "INTEGER NOT NULL DEFAULT 0",
        "attempt": "INTEGER NOT NULL DEFAULT 1",
        "cost_saved": "DOUBLE PRECISION NOT NULL DEFAULT 0",
        "note": "TEXT",
        "replayed": "INTEGER NOT NULL DEFAULT 0",
        "fallback_from": "TEXT",
    },
    "runs": {"replay_of": "TEXT", "host": "TEXT"},
}


def statements(script: str) -> list[str]:
    """The statements of a script of DDL (no `;` inside them)."""
    return [s.strip() for s in script.split(";") if s.strip()]


class Row(Protocol):
    """A row addressable by column name or position, like sqlite3.Row (dict(row) works)."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def keys(self) -> list[str]: ...


class Database:
    """One connection to the run store's database, shared by a store's threads: each call
    holds the connection until its rows are read; transaction() holds it until commit."""

    dialect = ""

    def __init__(self, where: str) -> None:
        self.where = where  # the place, for messages: a path, or a URL without its password
        self._lock = threading.RLock()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """Run one statement; the cursor it returns has fetchone() and fetchall()."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def fetchone(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        with self._lock:
            row: Row | None = self.execute(sql, args).fetchone()
            return row

    def fetchall(self, sql: str, args: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return list(self.execute(sql, args).fetchall())

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[Database]:
        """One transaction; durable=False commits without waiting for the disk (the next
        durable commit makes it durable too)."""
        raise NotImplementedError
        yield self

    def lock(self, key: str) -> None:
        """Inside a transaction: wait until no other transaction holds key, and hold it until
        this one ends (seq numbers of one run). SQLite's BEGIN IMMEDIATE already serializes
        every writer, so only Postgres needs it."""

    def close(self) -> None:
        raise NotImplementedError


def safe_url(url: str) -> str:
    """url without its password (and without its query, where a password may also be)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    user = f"{unquote(parts.username)}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def lock_key(key: str) -> int:
    """A signed 64-bit number for key, the same in every process (for advisory locks)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)
