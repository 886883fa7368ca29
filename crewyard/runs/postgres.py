"""The run store on Postgres (the only psycopg importer): the same SQL as on SQLite, its `?`
placeholders passed to psycopg as `%s`, rows addressable by name like sqlite3.Row, the tables
made under an advisory lock so that workers starting at once do not trip over each other."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from crewyard.errors import ConfigError
from crewyard.runs.sql import ADDED_COLUMNS, SCHEMA, Database, lock_key, safe_url, statements

_TOKEN = re.compile(r"'(?:[^']|'')*'|\?|%")
_TABLES = re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SCHEMA)
_INDEXES = re.findall(r"CREATE INDEX IF NOT EXISTS (\w+)", SCHEMA)
HINT = "start the database, fix CREWYARD_DATABASE_URL, or unset it for SQLite in the data folder"


@lru_cache(maxsize=256)
def to_pyformat(sql: str) -> str:
    """`?` → `%s`, and every `%` (in a quoted literal too) → `%%`, as psycopg reads them."""

    def sub(match: re.Match[str]) -> str:
        token = match.group()
        return "%s" if token == "?" else token.replace("%", "%%")

    return _TOKEN.sub(sub, sql)


class PgRow:
    """A row by column name or position (dict(row) works), like sqlite3.Row. The store has no
    NUMERIC columns: a numeric here is a SUM of integers, and comes back as an int."""

    __slots__ = ("_names", "_values")

    def __init__(self, names: tuple[str, ...], values: Sequence[Any]) -> None:
        self._names = names
        self._values = tuple(_plain(v) for v in values)

    def __getitem__(self, key: int | str, /) -> Any:
        if isinstance(key, str):
            return self._values[self._names.index(key)]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._names, self._values, strict=True))!r})"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _rows(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    names = tuple(c.name for c in cursor.description or ())
    return lambda values: PgRow(names, values)


class PostgresDatabase(Database):
    """One connection in autocommit mode; transaction() is a real Postgres transaction."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        super().__init__(safe_url(url))
        secrets = [s for s in (urlsplit(url).password, _password(url)) if s]
        try:
            given = conninfo_to_dict(url)
            defaults: dict[str, str | int] = {"connect_timeout": 10, "application_name": "crewyard"}
            conninfo = make_conninfo(url, **{k: v for k, v in defaults.items() if k not in given})
        except psycopg.Error as exc:
            raise self._error("is not a usable database URL", exc, secrets) from None
        try:
            self._conn: psycopg.Connection[Any] = psycopg.connect(
                conninfo, autocommit=True, row_factory=_rows
            )
        except psycopg.Error as exc:
            raise self._error("cannot be reached", exc, secrets) from None
        try:
            self._make_tables()
        except psycopg.Error as exc:
            self._conn.close()
            raise self._error("cannot be used", exc, secrets) from None

    def _error(self, what: str, exc: Exception, secrets: list[str]) -> ConfigError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        for secret in secrets:
            reason = reason.replace(secret, "[REDACTED]")
        return ConfigError(
            f"the run store's database {self.where} {what}: {reason}",
            key="CREWYARD_DATABASE_URL",
            hint=HINT,
        )

    def _missing(self) -> tuple[set[str], dict[str, dict[str, str]], set[str]]:
        """Tables, columns (of tables that exist) and indexes the store lacks."""
        columns: dict[str, set[str]] = {}
        for table, column in self._conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"
        ).fetchall():
            columns.setdefault(table, set()).add(column)
        indexes = {
            r[0]
            for r in self._conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            ).fetchall()
        }
        added = {
            table: {c: kind for c, kind in new.items() if c not in columns[table]}
            for table, new in ADDED_COLUMNS.items()
            if table in columns
        }
        return (
            set(_TABLES) - set(columns),
            {t: new for t, new in added.items() if new},
            set(_INDEXES) - indexes,
        )

    def _make_tables(self) -> None:
        if not any(self._missing()):
            return  # no DDL, so no lock on the tables, on the common path
        with self._conn.transaction():
            # one process at a time makes the tables (two CREATE TABLE IF NOT EXISTS at once
            # can both try to create the table's type, and one fails)
            self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("crewyard:schema"),))
            for statement in statements(SCHEMA):
                self._conn.execute(statement)
            for table, added in ADDED_COLUMNS.items():  # a store made by an older version
                for column, kind in added.items():
                    self._conn.execute(
                        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {kind}"
                    )

    def execute(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        with self._lock:
            return self._conn.execute(to_pyformat(sql), tuple(args))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._lock, self._conn.cursor() as cursor:
            cursor.executemany(to_pyformat(sql), [tuple(r) for r in rows])

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[Database]:
        with self._lock, self._conn.transaction():
            if not durable:  # commit without waiting for the WAL flush (this one only)
                self._conn.execute("SET LOCAL synchronous_commit = off")
            yield self

    def lock(self, key: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(?)", (lock_key(key),))

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _password(url: str) -> str | None:
    try:
        password = conninfo_to_dict(url).get("password")
    except psycopg.Error:
        return None
    return str(password) if password else None
