"""Schedules: the `schedules:` of every crew declared to the durable engine, what a firing does
(one run of the crew, or a batch when its inputs_file holds many items), overlap and catch-up,
and the list `python main.py schedule list` prints."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crewyard import engines
from crewyard.crews import discover, load_crew
from crewyard.crews.inputs import read_inputs_file, resolve_inputs
from crewyard.crews.schedules import ScheduleSpec, latest_fire_time, next_fire_times, utc_now
from crewyard.crews.spec import CrewSpec
from crewyard.durable.runner import CrewRunner
from crewyard.errors import ConfigError, CrewyardError
from crewyard.observe import spans
from crewyard.redact import logger
from crewyard.runs.firings import DONE, FAILED, SKIPPED, FiringStore
from crewyard.runs.store import new_run_id
from crewyard.settings import Settings

if TYPE_CHECKING:
    from crewyard.durable.batch import BatchResult

LIST_FILES = (".jsonl", ".ndjson", ".csv")


@dataclass(frozen=True)
class Declared:
    crew: CrewSpec
    schedule: ScheduleSpec

    @property
    def name(self) -> str:
        return self.schedule.name or self.crew.name

    def as_engine_schedule(self) -> dict[str, Any]:
        s = self.schedule
        return {
            "name": self.name,
            "cron": s.cron,
            "timezone": s.timezone,
            "overlap": s.overlap,
            "context": {"crew": self.crew.name, "schedule": self.name},
        }


def declared(
    settings: Settings, crews: list[str] | None = None
) -> tuple[list[Declared], list[str]]:
    """Every enabled schedule of the crews (all by default), and the crews that do not load
    (named with their error: a worker keeps going without them)."""
    found: list[Declared] = []
    broken: list[str] = []
    for name in crews or discover(settings.crews_dir):
        try:
            spec = load_crew(name, settings.crews_dir, engines.processes())
        except ConfigError as exc:
            broken.append(f"{name}: {exc}")
            continue
        found += [Declared(spec, s) for s in spec.schedules if s.enabled]
    return found, broken


def declare(schedules: list[Declared]) -> list[str]:
    """Make the durable engine's schedules these, then run the latest missed firing of each
    schedule that catches up (once, whichever worker gets there first)."""
    from crewyard.durable import engine  # DBOS: not for `schedule list`

    names = engine.declare_schedules([d.as_engine_schedule() for d in schedules])
    now = utc_now()
    for d in schedules:
        last = engine.last_fired(d.name)
        if d.schedule.catch_up != "latest" or last is None:
            continue
        missed = latest_fire_time(d.schedule, now)
        if missed > last:
            logger.info("schedule {} missed {}: running it now", d.name, missed.isoformat())
            engine.fire_once(d.name, missed)
    return names


def fire(
    settings: Settings, runner: CrewRunner, context: dict[str, Any], at: datetime, firing_id: str
) -> str:
    """One firing of a schedule: recorded, skipped when the last one still runs (overlap:
    skip), else a run of the crew (or a batch), resumed from where a killed attempt stopped."""
    from crewyard.durable import engine

    crew, name = str(context["crew"]), str(context["schedule"])
    runner.admit()
    store = FiringStore(settings.run_store)
    try:
        firing = store.start(firing_id, name, crew, at.timestamp())
        if firing.status in (DONE, FAILED, SKIPPED):
            return firing.status
        try:
            spec = load_crew(crew, settings.crews_dir, engines.processes())
            schedule = next(s for s in spec.schedules if s.name == name)
        except (CrewyardError, StopIteration) as exc:
            why = str(exc) if isinstance(exc, CrewyardError) else "the crew no longer declares it"
            store.finish(firing_id, FAILED, f"schedule {name} cannot run: {why}")
            return FAILED
        if schedule.overlap == "skip" and (others := engine.others_running(name, firing_id)):
            store.finish(firing_id, SKIPPED, f"the firing {others[0]} was still running")
            return SKIPPED
        attributes = {
            "crewyard.schedule": name,
            "crewyard.crew": crew,
            "crewyard.firing": firing_id,
        }
        with spans.span(f"schedule {name}", attributes):  # the run or the batch goes under it
            return _run(settings, runner, store, firing_id, spec, schedule)
    finally:
        store.close()
        runner.leave()


def _run(
    settings: Settings,
    runner: CrewRunner,
    store: FiringStore,
    firing_id: str,
    spec: CrewSpec,
    schedule: ScheduleSpec,
) -> str:
    from crewyard.dispatcher import RunFailed

    try:
        inputs = _inputs(spec, schedule)
        if isinstance(inputs, list):
            return _batch(settings, runner, store, firing_id, spec, inputs)
        earlier = runner.earlier(store.get(firing_id).run_id)
        if earlier is not None and earlier.status == "done":
            store.finish(firing_id, DONE)
            return DONE
        run_id = new_run_id()
        store.running_as(firing_id, run_id=run_id)
        result = runner.run_crew(
            spec.name, inputs, run_id, resume=earlier.id if earlier is not None else None
        )
    except RunFailed as exc:
        store.finish(firing_id, FAILED, exc.result.error or str(exc))
        return FAILED
    except CrewyardError as exc:
        store.finish(firing_id, FAILED, str(exc))
        return FAILED
    except Exception as exc:  # a firing never stops the worker: it is recorded
        store.finish(firing_id, FAILED, f"{type(exc).__name__}: {exc}")
        return FAILED
    store.finish(firing_id, DONE, f"run {result.run_id}")
    return DONE


def _inputs(spec: CrewSpec, schedule: ScheduleSpec) -> dict[str, Any] | list[Any]:
    """The firing's inputs: the schedule's own, one mapping from its inputs_file, or the items
    of a list file (a batch)."""
    if schedule.inputs_file is None:
        return resolve_inputs(spec, schedule.inputs)
    path = spec.directory / schedule.inputs_file
    if path.suffix.lower() in LIST_FILES:
        return [path]
    try:
        return resolve_inputs(spec, read_inputs_file(path))
    except ConfigError as exc:
        if "mapping" not in exc.message:
            raise
        return [path]  # a YAML/JSON list: a batch


def _batch(
    settings: Settings,
    runner: CrewRunner,
    store: FiringStore,
    firing_id: str,
    spec: CrewSpec,
    files: list[Any],
) -> str:
    """A batch of the file's items; started once (a recovered firing resumes it)."""
    from crewyard.durable.batch import resume_batch, run_batch
    from crewyard.durable.items import read_items

    earlier = store.get(firing_id).batch_id
    done: list[BatchResult] = []

    parent = spans.current()  # the firing's span (the thread starts with no context at all)

    def in_a_thread_of_its_own() -> None:  # the batch's workflow is not a child of this step
        with spans.under(parent):  # its span goes under the firing's
            go()

    def go() -> None:
        if earlier is not None:
            done.append(resume_batch(settings, earlier, runner=runner))
            return
        items = read_items(files[0], spec)
        started = lambda batch_id: store.running_as(firing_id, batch_id=batch_id)  # noqa: E731
        result = run_batch(settings, spec, items, source=files[0], on_start=started, runner=runner)
        done.append(result)

    worker = threading.Thread(target=in_a_thread_of_its_own, name=f"firing-{firing_id}")
    worker.start()
    worker.join()
    if not done:
        raise CrewyardError(f"the batch of firing {firing_id} stopped before it finished")
    result = done[0]
    status = DONE if not result.failed else FAILED
    note = f"batch {result.batch_id}: {result.counts['done']} of {result.counts['items']} done"
    store.finish(firing_id, status, note)
    return status


def listing(settings: Settings, count: int = 3) -> tuple[list[dict[str, Any]], list[str]]:
    """Each schedule with its next fire times and its last firing (for `schedule list`)."""
    found, broken = declared(settings)
    store = FiringStore(settings.run_store)
    now = utc_now()
    rows = []
    try:
        for d in found:
            last = store.recent(d.name, limit=1)
            rows.append(
                {
                    "crew": d.crew.name,
                    "schedule": d.name,
                    "cron": d.schedule.cron,
                    "timezone": d.schedule.timezone,
                    "overlap": d.schedule.overlap,
                    "catch_up": d.schedule.catch_up,
                    "next": [t.isoformat() for t in next_fire_times(d.schedule, now, count)],
                    "last": None
                    if not last
                    else {
                        "fired_for": datetime.fromtimestamp(
                            last[0].fired_for, ZoneInfo(d.schedule.timezone)
                        ).isoformat(),
                        "status": last[0].status,
                        "note": last[0].note,
                    },
                }
            )
    finally:
        store.close()
    return rows, broken
