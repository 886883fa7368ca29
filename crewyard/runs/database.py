"""The run store's SQLite file: its tables, bringing an older file up to date, opening it, and
saying why a file cannot be opened."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crewyard.errors import ConfigError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, crew TEXT NOT NULL, inputs TEXT NOT NULL, status TEXT NOT NULL,
  engine TEXT, pid INTEGER, started_at REAL NOT NULL, finished_at REAL,
  output TEXT, usage TEXT, cost_usd REAL, error TEXT, output_dir TEXT, log_file TEXT,
  replay_of TEXT
);
CREATE TABLE IF NOT EXISTS checkpoints (
  run_id TEXT NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL, task TEXT NOT NULL,
  agent TEXT, output TEXT NOT NULL, output_file TEXT, created_at REAL NOT NULL,
  PRIMARY KEY (run_id, task)
);
CREATE TABLE IF NOT EXISTS events (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, ts REAL NOT NULL, kind TEXT NOT NULL,
  data TEXT NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS model_calls (
  run_id TEXT NOT NULL, ts REAL NOT NULL, alias TEXT NOT NULL, model TEXT NOT NULL,
  agent TEXT, task TEXT, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL, latency_ms REAL NOT NULL, error TEXT, cached INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 1, cost_saved REAL NOT NULL DEFAULT 0, note TEXT,
  replayed INTEGER NOT NULL DEFAULT 0, fallback_from TEXT
);
CREATE TABLE IF NOT EXISTS turns (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, task TEXT NOT NULL, agent TEXT NOT NULL,
  content TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS batches (
  id TEXT PRIMARY KEY, crew TEXT NOT NULL, source TEXT, out TEXT, status TEXT NOT NULL,
  created_at REAL NOT NULL, finished_at REAL, concurrency INTEGER NOT NULL, rate REAL,
  max_tokens INTEGER, max_cost_usd REAL, models TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS batch_items (
  batch_id TEXT NOT NULL REFERENCES batches(id), item_id TEXT NOT NULL, seq INTEGER NOT NULL,
  line INTEGER, inputs TEXT NOT NULL, status TEXT NOT NULL, run_id TEXT, output TEXT,
  error TEXT, tokens INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, started_at REAL, finished_at REAL,
  PRIMARY KEY (batch_id, item_id)
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE INDEX IF NOT EXISTS calls_run ON model_calls(run_id);
"""

ADDED_CALL_COLUMNS = {
    "cached": "INTEGER NOT NULL DEFAULT 0",
    "attempt": "INTEGER NOT NULL DEFAULT 1",
    "cost_saved": "REAL NOT NULL DEFAULT 0",
    "note": "TEXT",
    "replayed": "INTEGER NOT NULL DEFAULT 0",
    "fallback_from": "TEXT",
}
ADDED_RUN_COLUMNS = {"replay_of": "TEXT"}


def open_database(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=FULL,
    with the tables made or brought up to date."""
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=10000")
    db.executescript(SCHEMA)
    for table, added in (("model_calls", ADDED_CALL_COLUMNS), ("runs", ADDED_RUN_COLUMNS)):
        columns = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for column, kind in added.items():  # a store made by an older version
            if column not in columns:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    return db


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
