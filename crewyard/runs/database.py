"""The run store's database, SQLite or Postgres through one layer: its tables (one schema, in
portable types), bringing an older store up to date, opening it from a path or a URL, and saying
why it cannot be opened. The SQL of the stores is written once, with `?` placeholders.

Postgres lives in crewyard/runs/postgres.py (the only psycopg importer), imported only when a
postgresql:// URL is used."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from crewyard.errors import ConfigError
from crewyard.settings import usable_folder

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
    def transaction(self) -> Iterator[Database]:
        raise NotImplementedError
        yield self

    def lock(self, key: str) -> None:
        """Inside a transaction: wait until no other transaction holds key, and hold it until
        this one ends (seq numbers of one run). SQLite's BEGIN IMMEDIATE already serializes
        every writer, so only Postgres needs it."""

    def close(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    """A file in autocommit mode (transactions are explicit: BEGIN IMMEDIATE), WAL,
    synchronous=FULL, waiting up to 10 s for another writer."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(SCHEMA)
            for table, added in ADDED_COLUMNS.items():
                columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                for column, kind in added.items():  # a store made by an older version
                    if column not in columns:
                        db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        except BaseException:
            db.close()
            raise
        self._db = db

    def execute(self, sql: str, args: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(args))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._lock:
            self._db.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def connect(location: Path | str) -> Database:
    """The run store's database at a path (SQLite), a sqlite:// URL or a postgresql:// URL,
    with its tables made or brought up to date; a ConfigError says why one cannot be used."""
    if isinstance(location, str) and "://" in location:
        scheme = location.split("://", 1)[0].lower()
        if scheme in ("postgresql", "postgres"):
            from crewyard.runs.postgres import PostgresDatabase

            return PostgresDatabase(location)
        if scheme != "sqlite":
            raise ConfigError(
                f"{safe_url(location)!r} is not a database URL the run store can use",
                key="CREWYARD_DATABASE_URL",
                hint="postgresql://user@host:5432/crewyard, or unset it for SQLite in the data "
                "folder",
            )
        # as SQLAlchemy and DBOS read it: sqlite:///relative/file, sqlite:////absolute/file
        location = unquote(urlsplit(location).path)[1:]
    path = Path(location)
    usable_folder(path.parent, "the data folder")
    try:
        return SqliteDatabase(path)
    except sqlite3.DatabaseError as exc:
        raise unusable(path, exc) from None


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


def unusable(path: Path, exc: sqlite3.DatabaseError) -> ConfigError:
    """Why the run store at path cannot be opened, and what to do about it."""
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        why, fix = "it is not a readable SQLite database (damaged?)", "move it aside"
    elif "readonly" in text or "unable to open" in text:
        why, fix = "it cannot be written here (read-only?)", "make the folder writable"
    else:
        why, fix = text, "move it aside"
    return ConfigError(
        f"the run store {path} cannot be opened: {why}",
        key="CREWYARD_DATA_DIR",
        hint=f"{fix} (a new one is made on the next run), or point CREWYARD_DATA_DIR elsewhere",
    )
