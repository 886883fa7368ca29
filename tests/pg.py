"""The real Postgres of our machines (127.0.0.1:5432, trust auth, database `test`): tests that
need it skip without it, and fail instead when CI=true."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_or_skip() -> None:
    try:
        psycopg.connect(ADMIN_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        reason = f"no Postgres at {ADMIN_URL} ({' '.join(str(exc).split())})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}: CI=true needs it")
        pytest.skip(reason)


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards (the durable engine keeps its
    tables in a schema of its own, so each test needs a whole database)."""
    postgres_or_skip()
    name = f"crewyard_t_{secrets.token_hex(5)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
