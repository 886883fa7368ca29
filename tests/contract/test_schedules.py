"""Schedules on a real worker (DBOS on SQLite, real CrewAI, the fake model server): a cron of
every second or two fires without overlap (skipped or queued), a time fires once, a missed
time is caught up once or not at all, and `schedule list` tells what is declared."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from crewyard.cli import main
from crewyard.durable import engine
from crewyard.durable.worker import WorkerOptions, run_worker
from crewyard.runs.batches import BatchStore
from crewyard.runs.firings import FiringStore
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import cli_uses, standard_at
from tests.fakellm.server import FakeLLM


def with_schedules(crew_dir: Path, *schedules: dict[str, Any]) -> None:
    crew_file = crew_dir / "crew.yaml"
    declared = yaml.safe_load(crew_file.read_text())
    crew_file.write_text(yaml.safe_dump({**declared, "schedules": list(schedules)}))


class Worker:
    """run_worker in a thread of this process, stopped (as SIGTERM would) on exit."""

    def __init__(self, settings: Settings) -> None:
        self.stop = threading.Event()
        self.said: list[str] = []
        options = WorkerOptions(grace_s=20, said=self.said.append)
        self.thread = threading.Thread(target=run_worker, args=(settings, options, self.stop))

    def __enter__(self) -> Worker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        engine.shutdown()


def firings(settings: Settings) -> list[Any]:
    store = FiringStore(settings.run_store)
    try:
        return sorted(store.recent(limit=1000), key=lambda f: f.fired_for)
    finally:
        store.close()


def wait_for(
    check: Callable[[], bool], timeout: float = 120.0, settings: Settings | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            seen = [(f.status, f.note) for f in firings(settings)] if settings else []
            raise AssertionError(f"timed out; the firings: {seen}")
        time.sleep(0.2)


@pytest.fixture
def slow_model(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[FakeLLM]:
    latency = getattr(request, "param", 0.7)
    with FakeLLM(latency=latency, responder=lambda body: "Final Answer: noted") as fake:
        standard_at(settings, fake.url, monkeypatch, num_retries=0)
        yield fake


def test_every_second_fires_without_overlap_skipping_busy_times(
    settings: Settings, two_step_crew: Path, slow_model: FakeLLM
) -> None:
    # a run takes two calls of 0.7 s: a firing every second finds the last one running
    with_schedules(two_step_crew, {"cron": "* * * * * *", "inputs": {"topic": "tick"}})
    with Worker(settings):
        wait_for(lambda: sum(f.status == "done" for f in firings(settings)) >= 2, settings=settings)
    fired = firings(settings)
    done = [f for f in fired if f.status == "done"]
    skipped = [f for f in fired if f.status == "skipped"]
    assert skipped and all("was still running" in (f.note or "") for f in skipped)
    assert slow_model.max_in_flight == 1  # never two runs at once
    assert len({f.fired_for for f in fired}) == len(fired)  # each time fired once
    runs = RunStore(settings.run_store)
    assert all(runs.get(f.run_id or "").status == "done" for f in done)
    assert {r.id for r in runs.recent(100)} == {f.run_id for f in fired if f.run_id}


@pytest.mark.parametrize("slow_model", [0.8], indirect=True)
def test_queued_firings_wait_their_turn(
    settings: Settings, two_step_crew: Path, slow_model: FakeLLM
) -> None:
    schedule = {"cron": "* * * * * *", "inputs": {"topic": "tick"}, "overlap": "queue"}
    with_schedules(two_step_crew, schedule)
    with Worker(settings):
        wait_for(lambda: sum(f.status == "done" for f in firings(settings)) >= 3, settings=settings)
    fired = firings(settings)
    assert not [f for f in fired if f.status == "skipped"]
    assert slow_model.max_in_flight == 1
    runs = RunStore(settings.run_store)
    spans = sorted(
        (r.started_at, r.finished_at or time.time())
        for r in (runs.get(f.run_id) for f in fired if f.run_id)
    )
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))


@pytest.mark.parametrize("catch_up", ["latest", "none"])
@pytest.mark.parametrize("slow_model", [0.0], indirect=True)
def test_a_missed_time_is_caught_up_once_or_not_at_all(
    settings: Settings, two_step_crew: Path, slow_model: FakeLLM, catch_up: str
) -> None:
    schedule = {"cron": "*/2 * * * * *", "inputs": {"topic": "t"}, "catch_up": catch_up}
    with_schedules(two_step_crew, schedule)
    with Worker(settings):
        wait_for(lambda: any(f.status == "done" for f in firings(settings)))
    stopped = time.time()
    time.sleep(5)  # two or three times pass with no worker
    restarted = time.time()
    with Worker(settings):
        wait_for(lambda: any(f.fired_for > restarted for f in firings(settings)))
        time.sleep(1)
    missed = [f for f in firings(settings) if stopped < f.fired_for < restarted]
    assert len(missed) == (1 if catch_up == "latest" else 0)
    if missed:  # the latest of the missed times
        assert missed[0].fired_for > restarted - 2.5


def test_schedule_list_shows_next_times_and_the_last_firing(
    settings: Settings,
    two_step_crew: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with_schedules(
        two_step_crew,
        {"cron": "30 6 * * 1-5", "inputs": {"topic": "t"}, "timezone": "Europe/Paris"},
        {"cron": "0 0 1 1 *", "inputs": {"topic": "t"}, "name": "new-year", "overlap": "queue"},
    )
    cli_uses(settings, monkeypatch)
    assert main(["schedule", "list", "--json", "--next", "2"]) == 0
    listed = json.loads(capsys.readouterr().out)["schedules"]
    assert [s["schedule"] for s in listed] == ["demo-1", "new-year"]
    first = listed[0]["next"]
    assert len(first) == 2 and all(t.endswith(("+01:00", "+02:00")) for t in first)
    assert all("T06:30:00" in t for t in first)
    assert listed[1]["next"][0][5:10] == "01-01" and listed[1]["last"] is None
    assert main(["schedule", "list"]) == 0
    assert "new-year  crew demo  cron '0 0 1 1 *'" in capsys.readouterr().out


@pytest.mark.parametrize("slow_model", [0.0], indirect=True)
def test_a_schedule_with_a_list_of_inputs_runs_a_batch_each_time(
    settings: Settings, two_step_crew: Path, slow_model: FakeLLM
) -> None:
    (two_step_crew / "topics.csv").write_text("topic\nwind\ntides\nsun\n")
    with_schedules(two_step_crew, {"cron": "*/2 * * * * *", "inputs_file": "topics.csv"})
    with Worker(settings) as worker:
        wait_for(lambda: any(f.status == "done" for f in firings(settings)))
    assert any("schedule(s) declared" in line for line in worker.said)
    first = next(f for f in firings(settings) if f.status == "done")
    assert first.batch_id and (first.note or "").endswith("3 of 3 done")
    store = BatchStore(settings.run_store)
    inputs = sorted(i.inputs["topic"] for i in store.items(first.batch_id))
    assert inputs == ["sun", "tides", "wind"]
    assert {i.status for i in store.items(first.batch_id)} == {"done"}
