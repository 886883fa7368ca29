"""The run store: durable settings, checkpoints in order, runs left running are marked."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crewyard.errors import ConfigError
from crewyard.runs.store import RunStore


def test_journal_is_durable(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_events_skip_their_own_fsync_but_every_other_write_keeps_it(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    store.start("r1", "demo", {}, "autogen", tmp_path, None)
    modes: list[int] = []
    connection = store._db._db  # type: ignore[attr-defined]  # the sqlite3 connection itself
    connection.set_trace_callback(
        lambda sql: (
            modes.append(connection.execute("PRAGMA synchronous").fetchone()[0])
            if sql == "COMMIT"
            else None
        )
    )
    store.event("r1", "agent_turn", {"agent": "critic"})
    store.turn("r1", "t", "critic", "a flaw")
    connection.set_trace_callback(None)
    assert modes == [1, 2]  # NORMAL for the event; FULL for the turn, which syncs both
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert store.events("r1")[-1] == ("agent_turn", {"agent": "critic"})


def test_checkpoints_are_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    store = RunStore(db)
    store.start("r1", "demo", {"topic": "x"}, "crewai", tmp_path, None)
    store.checkpoint("r1", "first", "a", "output one")
    store.checkpoint("r1", "second", "b", "output two", "report.md")
    other = sqlite3.connect(db)
    rows = other.execute("SELECT task, output FROM checkpoints ORDER BY seq").fetchall()
    assert rows == [("first", "output one"), ("second", "output two")]
    assert [c.output_file for c in store.checkpoints("r1")] == [None, "report.md"]


def test_run_of_a_dead_process_is_marked_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "runs.sqlite3"
    # A real process starts a run and dies without finishing it.
    code = (
        "import sys; from pathlib import Path; from crewyard.runs.store import RunStore;"
        f"s = RunStore(Path({str(db)!r}));"
        "s.start('dead', 'demo', {}, 'crewai', Path('.'), None);"
        "s.checkpoint('dead', 't1', 'a', 'kept');"
        "call = dict(alias='fast', model='m', agent='a', task='t1', latency_ms=5.0, error=None);"
        "s.model_call('dead', prompt_tokens=100, completion_tokens=20, cost_usd=0.25, **call);"
        "s.model_call('dead', prompt_tokens=7, completion_tokens=3, cost_usd=0.5, **call);"
        "import os; os._exit(9)"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    store = RunStore(db)
    record = store.get("dead")
    assert record.status == "interrupted"
    assert "stopped" in (record.error or "")
    assert store.checkpoints("dead")[0].output == "kept"
    # what its recorded calls spent, not 0 tokens and $0
    assert (record.usage["total_tokens"], record.usage["calls"]) == (130, 2)
    assert record.cost_usd == 0.75


def test_unknown_run_id_says_how_to_list(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.sqlite3")
    store.start("20260101-000000-abcdef", "demo", {}, "crewai", tmp_path, None)
    assert store.get("20260101-000000").id == "20260101-000000-abcdef"  # unique prefix
    with pytest.raises(ConfigError, match="no run 'nope'"):
        store.get("nope")


def test_secrets_never_reach_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    canary = "sk-canary1234567890abcdefXYZ"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    store = RunStore(tmp_path / "runs.sqlite3")
    store.start("r", "demo", {"note": f"key {canary}"}, "crewai", tmp_path, None)
    store.checkpoint("r", "t", "a", f"leaked {canary}")
    store.finish("r", "failed", error=f"auth failed for {canary}")
    dump = "\n".join(sqlite3.connect(tmp_path / "runs.sqlite3").iterdump())
    assert canary not in dump
    assert "[REDACTED]" in dump


def test_a_secret_set_or_changed_after_earlier_writes_is_still_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crewyard.redact import redact, treat_as_secret

    monkeypatch.setenv("BENCH_TOKEN", "first-plain-value")
    assert redact("a first-plain-value") == "a [REDACTED]"
    monkeypatch.setenv("BENCH_TOKEN", "second-plain-value")  # same names, a new value
    assert redact("first-plain-value second-plain-value") == "first-plain-value [REDACTED]"
    monkeypatch.setenv("ODD_NAME", "third-plain-value")
    assert redact("third-plain-value") == "third-plain-value"
    treat_as_secret("ODD_NAME")  # models.yaml named it as an api_key_env
    assert redact("third-plain-value") == "[REDACTED]"
