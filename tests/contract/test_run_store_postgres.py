"""The run store and the batch store behave alike on SQLite and on a real Postgres (127.0.0.1,
database `test`, user `postgres`), each Postgres test in a fresh schema of its own; writers in
several processes lose nothing and collide never; a database that cannot be used says where
(never with its password), why, and how to fix it.

Postgres unreachable: these tests skip, and fail instead when CI=true."""

from __future__ import annotations

import multiprocessing
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from crewyard.errors import ConfigError
from crewyard.runs.batches import DONE, FAILED, QUEUED, RUNNING, Batch, BatchStore
from crewyard.runs.costs import cost_report
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.pg import ADMIN_URL, postgres_or_skip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """The URL of a fresh, empty schema, dropped afterwards."""
    postgres_or_skip()
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    if request.param == "sqlite":
        return tmp_path / "data" / "runs.sqlite3"
    return str(request.getfixturevalue("pg_url"))


def raw(location: Path | str, sql: str) -> None:
    """A statement run beside the store (what an older version left behind)."""
    if isinstance(location, Path):
        import sqlite3

        location.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(location) as db:
            db.executescript(sql)
    else:
        with psycopg.connect(location, autocommit=True) as db:
            db.execute(sql)


def call(store: RunStore, run_id: str, **over: Any) -> None:
    fields: dict[str, Any] = dict(
        alias="fast",
        model="m1",
        agent="writer",
        task="t1",
        prompt_tokens=100,
        completion_tokens=20,
        cost_usd=0.25,
        latency_ms=12.5,
        error=None,
    )
    store.model_call(run_id, **{**fields, **over})


def test_a_run_from_start_to_finish(location: Path | str, tmp_path: Path) -> None:
    store = RunStore(location)
    before = time.time()
    store.start("20260101-000000-abcdef", "demo", {"topic": "x"}, "crewai", tmp_path, None)
    store.checkpoint("20260101-000000-abcdef", "first", "a", "one")
    store.checkpoint("20260101-000000-abcdef", "second", "b", "two", "report.md")
    call(store, "20260101-000000-abcdef")
    call(store, "20260101-000000-abcdef", prompt_tokens=7, completion_tokens=3, cost_usd=0.5)
    call(store, "20260101-000000-abcdef", cached=True, cost_saved=0.1, cost_usd=0.0)
    usage = store.usage_of("20260101-000000-abcdef")
    assert usage == {
        "calls": 2,
        "prompt_tokens": 107,
        "completion_tokens": 23,
        "total_tokens": 130,
        "cost_usd": 0.75,
    }
    store.finish("20260101-000000-abcdef", "done", output="all", usage=usage, cost_usd=0.75)

    record = RunStore(location).get("20260101-000000")  # another store; a unique prefix
    assert (record.id, record.status, record.output, record.inputs) == (
        "20260101-000000-abcdef",
        "done",
        "all",
        {"topic": "x"},
    )
    assert record.usage["total_tokens"] == 130 and record.cost_usd == 0.75
    # times to the millisecond (a 4-byte REAL would be off by minutes)
    assert before <= record.started_at <= (record.finished_at or 0) <= time.time()
    assert [(c.task, c.output, c.output_file) for c in store.checkpoints(record.id)] == [
        ("first", "one", None),
        ("second", "two", "report.md"),
    ]
    calls = store.model_calls(record.id)
    assert [(c["prompt_tokens"], c["cached"], c["cost_saved"]) for c in calls] == [
        (100, 0, 0.0),
        (7, 0, 0.0),
        (100, 1, 0.1),
    ]
    assert isinstance(calls[0]["prompt_tokens"], int)
    (by_day,) = cost_report(store, "day")
    assert by_day["day"] == time.strftime("%Y-%m-%d", time.gmtime(calls[0]["ts"]))
    assert (by_day["calls"], by_day["cache_hits"], by_day["tokens_saved"]) == (2, 1, 120)
    (by_crew,) = cost_report(store, "crew", since_days=1)
    assert (by_crew["crew"], by_crew["prompt_tokens"], by_crew["cost_usd"]) == ("demo", 107, 0.75)


def test_listing_lookup_and_unknown_runs(location: Path | str, tmp_path: Path) -> None:
    store = RunStore(location)
    for n, crew in enumerate(["a", "b", "a"]):
        store.start(f"2026010{n}-000000-abcdef", crew, {}, "crewai", tmp_path, None)
        store.finish(f"2026010{n}-000000-abcdef", "done")
    assert [r.id[:8] for r in store.recent()] == ["20260102", "20260101", "20260100"]
    assert [r.id[:8] for r in store.recent(1, crew="a")] == ["20260102"]
    with pytest.raises(ConfigError, match="no run '2026010'") as info:
        store.get("2026010")  # three runs start so
    assert "password" not in str(info.value)
    with pytest.raises(ConfigError, match="no run 'nope'"):
        store.get("nope")


def test_a_task_checkpointed_again_is_replaced_and_moves_last(
    location: Path | str, tmp_path: Path
) -> None:
    store = RunStore(location)
    store.start("r", "demo", {}, "crewai", tmp_path, None)
    for task, output in [("a", "1"), ("b", "2"), ("a", "1 again"), ("b", "2 again")]:
        store.checkpoint("r", task, "w", output)
    assert [(c.task, c.output) for c in store.checkpoints("r")] == [
        ("a", "1 again"),
        ("b", "2 again"),
    ]


def test_events_and_turns_in_order(location: Path | str, tmp_path: Path) -> None:
    store = RunStore(location)
    store.start("r", "demo", {}, "autogen", tmp_path, None)
    for n in range(5):
        store.event("r", "step", {"n": n, "text": "100% done?"})
        store.turn("r", "debate", f"agent{n % 2}", f"said {n}")
    store.event("other", "step", {"n": 99})
    assert store.events("r") == [("step", {"n": n, "text": "100% done?"}) for n in range(5)]
    assert store.turns("r") == [("debate", f"agent{n % 2}", f"said {n}") for n in range(5)]


def test_a_run_left_running_by_a_dead_process_of_this_host_only_is_interrupted(
    location: Path | str, tmp_path: Path
) -> None:
    store = RunStore(location)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    for run_id in ("here", "elsewhere"):
        store.start(run_id, "demo", {}, "crewai", tmp_path, None)
        store.checkpoint(run_id, "t", "a", "kept")
        call(store, run_id)
    store._db.execute("UPDATE runs SET pid = ?", (int(dead),))
    store._db.execute("UPDATE runs SET host = ? WHERE id = ?", ("another-machine", "elsewhere"))
    # a new process's store: this process's runs would count as its own
    from crewyard.runs import store as store_module

    store_module._RUNNING_HERE.difference_update({"here", "elsewhere"})
    again = RunStore(location)
    here = again.get("here")
    assert (here.status, here.usage["total_tokens"], here.cost_usd) == ("interrupted", 120, 0.25)
    assert again.get("elsewhere").status == "running"  # its own machine decides that


def test_an_older_store_is_brought_up_to_date(location: Path | str, tmp_path: Path) -> None:
    raw(
        location,
        "CREATE TABLE runs (id TEXT PRIMARY KEY, crew TEXT NOT NULL, inputs TEXT NOT NULL,"
        " status TEXT NOT NULL, engine TEXT, pid INTEGER, started_at REAL NOT NULL,"
        " finished_at REAL, output TEXT, usage TEXT, cost_usd REAL, error TEXT,"
        " output_dir TEXT, log_file TEXT);"
        "CREATE TABLE model_calls (run_id TEXT NOT NULL, ts REAL NOT NULL, alias TEXT NOT NULL,"
        " model TEXT NOT NULL, agent TEXT, task TEXT, prompt_tokens INTEGER NOT NULL,"
        " completion_tokens INTEGER NOT NULL, cost_usd REAL NOT NULL, latency_ms REAL NOT NULL,"
        " error TEXT);"
        "INSERT INTO runs (id, crew, inputs, status, started_at) VALUES"
        " ('old', 'demo', '{}', 'done', 1700000000)",
    )
    store = RunStore(location)
    store.start("new", "demo", {}, "crewai", tmp_path, None, replay_of="old")
    call(store, "new", fallback_from="smart", note="n", replayed=True)
    assert store.get("new").replay_of == "old"
    assert store.model_calls("new")[0]["fallback_from"] == "smart"
    assert store.get("old").status == "done"


def test_secrets_never_reach_the_store(
    location: Path | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "sk-canary1234567890abcdefXYZ"
    monkeypatch.setenv("OPENAI_API_KEY", canary)
    store = RunStore(location)
    store.start("r", "demo", {"db": "postgresql://bob:hunter2pw@db/x"}, "crewai", tmp_path, None)
    store.checkpoint("r", "t", "a", f"leaked {canary}")
    store.event("r", "note", {"url": "postgresql://bob:hunter2pw@db/x"})
    store.finish("r", "failed", error=f"auth failed for {canary}")
    rows = store.query("SELECT inputs, error FROM runs") + store.query("SELECT data FROM events")
    text = repr([dict(r) for r in rows]) + repr(store.checkpoints("r"))
    assert canary not in text and "hunter2pw" not in text
    assert "bob:[REDACTED]@db" in text


def new_batch(batch_id: str, **over: Any) -> Batch:
    fields: dict[str, Any] = dict(
        id=batch_id,
        crew="demo",
        source="items.csv",
        out="out.jsonl",
        status="running",
        created_at=time.time(),
        finished_at=None,
        concurrency=4,
        rate=30.0,
        max_tokens=10**10,
        max_cost_usd=1.5,
        models={"fast": "scripted/x"},
    )
    return Batch(**{**fields, **over})


def test_a_batch_its_items_counts_finish_and_reopen(location: Path | str) -> None:
    store = BatchStore(location)
    batch = new_batch("b-20260101-aaaa")
    store.create(
        batch, [("i1", 2, {"topic": "one"}), ("i2", 3, {"topic": "two"}), ("i3", None, {})]
    )
    assert BatchStore(location).get("b-2026") == batch  # another store; a unique prefix
    store.start_item(batch.id, "i1", "run-1")
    store.finish_item(batch.id, "i1", DONE, output="out 1", tokens=120, cost_usd=0.25)
    store.start_item(batch.id, "i2", "run-2")
    store.finish_item(batch.id, "i2", FAILED, error="boom", tokens=30, cost_usd=0.05)
    store.start_item(batch.id, "i3", "run-3")
    counts = store.counts(batch.id)
    assert {k: counts[k] for k in (QUEUED, RUNNING, DONE, FAILED, "items", "tokens")} == {
        QUEUED: 0,
        RUNNING: 1,
        DONE: 1,
        FAILED: 1,
        "items": 3,
        "tokens": 150,
    }
    assert counts["cost_usd"] == pytest.approx(0.30)
    i1 = store.item(batch.id, "i1")
    assert (i1.seq, i1.line, i1.inputs, i1.run_id, i1.output, i1.attempts) == (
        0,
        2,
        {"topic": "one"},
        "run-1",
        "out 1",
        1,
    )
    assert [i.item_id for i in store.items(batch.id, FAILED)] == ["i2"]
    store.finish(batch.id, FAILED)
    assert (store.get(batch.id).status, store.get(batch.id).finished_at is not None) == (
        FAILED,
        True,
    )

    store.reopen(batch.id)
    assert (store.get(batch.id).status, store.get(batch.id).finished_at) == ("running", None)
    assert [(i.item_id, i.status) for i in store.items(batch.id)] == [
        ("i1", DONE),
        ("i2", FAILED),
        ("i3", QUEUED),
    ]
    store.start_item(batch.id, "i3", "run-3")
    assert store.item(batch.id, "i3").attempts == 2


def test_batches_listed_newest_first_and_unknown_ones_named(location: Path | str) -> None:
    store = BatchStore(location)
    for n in range(3):
        store.create(new_batch(f"b{n}", created_at=1_700_000_000.0 + n), [])
    assert [b.id for b in store.recent()] == ["b2", "b1", "b0"]
    with pytest.raises(ConfigError, match=r"no batch 'b' .*\(3 batches start so\)"):
        store.get("b")
    with pytest.raises(ConfigError, match="has no item 'x'"):
        store.item("b0", "x")


# -- many processes, one Postgres -------------------------------------------------------------


def _writer(url: str, name: str, count: int, ready: Any) -> None:
    store = RunStore(url)
    ready.wait()
    for n in range(count):
        store.event("shared", "step", {"writer": name, "n": n})
        store.checkpoint("shared", f"{name}-{n}", name, f"output {n}")
        store.turn("shared", "chat", name, f"{name} says {n}")


def _opener(url: str, ready: Any) -> None:
    ready.wait()
    RunStore(url).close()
    BatchStore(url).close()


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_two_processes_writing_one_run_lose_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(request.getfixturevalue("pg_url") if backend == "postgres" else tmp_path / "r.db")
    RunStore(url).start("shared", "demo", {}, "crewai", tmp_path, None)
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(2)
    count = 40
    writers = [spawn.Process(target=_writer, args=(url, n, count, ready)) for n in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(120)
    assert [w.exitcode for w in writers] == [0, 0]

    store = RunStore(url)
    events = [data for _, data in store.events("shared")]
    assert len(events) == 2 * count
    for name in ("a", "b"):  # each writer's own order kept, none lost
        assert [e["n"] for e in events if e["writer"] == name] == list(range(count))
        assert [t[2] for t in store.turns("shared") if t[1] == name] == [
            f"{name} says {n}" for n in range(count)
        ]
    assert len(store.checkpoints("shared")) == 2 * count
    seqs = [r["seq"] for r in store.query("SELECT seq FROM checkpoints ORDER BY seq")]
    assert seqs == list(range(2 * count))  # no two checkpoints share a number
    assert len({r["seq"] for r in store.query("SELECT seq FROM turns")}) == 2 * count


def test_workers_starting_at_once_on_an_empty_database_all_open_it(pg_url: str) -> None:
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Barrier(4)
    openers = [spawn.Process(target=_opener, args=(pg_url, ready)) for _ in range(4)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join(120)
    assert [o.exitcode for o in openers] == [0, 0, 0, 0]


# -- where the store lives, and what it says when it cannot be used ---------------------------


def test_the_store_follows_crewyard_database_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CREWYARD_DATA_DIR", str(tmp_path))
    assert Settings().run_store == tmp_path / "runs.sqlite3"
    monkeypatch.setenv("CREWYARD_DATABASE_URL", "  ")
    assert Settings().run_store == tmp_path / "runs.sqlite3"
    monkeypatch.setenv("CREWYARD_DATABASE_URL", "postgresql://bob:hunter2pw@127.0.0.1:1/crew")
    settings = Settings()
    assert settings.run_store == "postgresql://bob:hunter2pw@127.0.0.1:1/crew"
    assert "hunter2pw" not in repr(settings)
    monkeypatch.setenv("CREWYARD_DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.sqlite3")
    RunStore(Settings().run_store).start("r", "demo", {}, "crewai", tmp_path, None)
    assert (tmp_path / "elsewhere.sqlite3").exists()


def test_an_unreachable_postgres_names_the_place_not_the_password(tmp_path: Path) -> None:
    url = "postgresql://bob:hunter2pw@127.0.0.1:1/crewdb?password=hunter2pw"
    for opened in (RunStore, BatchStore):
        with pytest.raises(ConfigError) as info:
            opened(url)
        text = str(info.value)
        assert "hunter2pw" not in text
        assert "postgresql://bob@127.0.0.1:1/crewdb" in text
        assert "cannot be reached" in text and "refused" in text.lower()
        assert "CREWYARD_DATABASE_URL" in text and "start the database" in text
        assert "unset it for SQLite" in text


def test_a_url_of_another_database_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="not a database URL") as info:
        RunStore("mysql://bob:hunter2pw@127.0.0.1/crew")
    assert "hunter2pw" not in str(info.value)


def test_a_missing_postgres_database_says_so(pg_url: str) -> None:
    url = pg_url.replace("/test?", "/no_such_db_here?")
    with pytest.raises(ConfigError, match=r"no_such_db_here.*does not exist"):
        RunStore(url)


def test_the_sqlite_store_does_not_load_psycopg(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from crewyard.runs.store import RunStore;"
        "from crewyard.runs.batches import BatchStore;"
        f"RunStore(Path({str(tmp_path / 'r.db')!r})); BatchStore(Path({str(tmp_path / 'r.db')!r}));"
        "assert 'psycopg' not in sys.modules, 'psycopg loaded'"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
