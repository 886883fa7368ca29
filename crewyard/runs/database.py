"""The run store's database, SQLite or Postgres through one layer (crewyard/runs/sql.py): opening
it from a path or a URL, the tables made or brought up to date, and saying why it cannot be
opened. The SQL of the stores is written once, with `?` placeholders.

Postgres lives in crewyard/runs/postgres.py (the only psycopg importer), imported only when a
postgresql:// URL is used."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from crewyard.errors import ConfigError
from crewyard.runs.sql import ADDED_COLUMNS, SCHEMA, Database, safe_url
from crewyard.settings import usable_folder


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
    def transaction(self, durable: bool = True) -> Iterator[Database]:
        with self._lock:
            if not durable:  # WAL: the commit is ordered, only its fsync waits for the next
                self._db.execute("PRAGMA synchronous=NORMAL")
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if not durable:
                    self._db.execute("PRAGMA synchronous=FULL")

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
