"""`schedules:` in crew.yaml — when a worker runs the crew on its own: a cron expression (five
fields, or six with seconds first), the inputs of each run (or a file of them: a mapping is one
run, a list or a JSONL/CSV file is a batch per firing), the timezone the cron is read in, what
happens when a firing finds the last one still running, and what happens to firings missed
while no worker was up. Checked at load like every other key (the only croniter importer)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field

from crewyard.crews.yamlfile import KeyPath, YamlDoc


class ScheduleSpec(BaseModel):
    """One schedule of a crew (run by `python main.py worker`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cron: str = Field(
        description="When to run: a cron expression, 'min hour day month weekday' (e.g. "
        "'0 6 * * 1-5'), or six fields with seconds first ('*/10 * * * * *')."
    )
    name: str | None = Field(
        default=None, description="The schedule's name (default: CREW-N, N its position)."
    )
    inputs: dict[str, Any] = Field(
        default_factory=dict, description="The crew's inputs for each run, checked at load."
    )
    inputs_file: str | None = Field(
        default=None,
        description="A file of inputs, relative to the crew folder: a JSON/YAML mapping is one "
        "run's inputs; a list, .jsonl or .csv file is a batch of items run at each firing.",
    )
    timezone: str = Field(
        default="UTC", description="The IANA timezone the cron is read in (Europe/Paris, …)."
    )
    overlap: Literal["skip", "queue"] = Field(
        default="skip",
        description="When a firing finds the previous run of this schedule still going: skip "
        "it (recorded as skipped), or queue it to run when the previous one ends.",
    )
    catch_up: Literal["latest", "none"] = Field(
        default="latest",
        description="Firings missed while no worker ran: run the latest one when a worker "
        "starts, or none.",
    )
    enabled: bool = Field(default=True, description="false: declared but never fired.")


def check_schedule(
    schedule: ScheduleSpec, crew_dir: Path, doc: YamlDoc, at: KeyPath
) -> ScheduleSpec:
    """The cron, timezone and inputs file of one schedule, checked (errors at file:line)."""
    six = len(schedule.cron.split()) == 6
    if not croniter.is_valid(schedule.cron, second_at_beginning=six):
        raise doc.error(
            f"cron {schedule.cron!r} is not a cron expression",
            (*at, "cron"),
            "five fields 'minute hour day month weekday', e.g. '0 6 * * 1-5' (6:00 on "
            "weekdays), or six with seconds first",
        )
    try:
        ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise doc.error(
            f"unknown timezone {schedule.timezone!r}",
            (*at, "timezone"),
            "an IANA name such as UTC, Europe/Paris or America/New_York",
        ) from None
    if schedule.inputs_file is not None:
        path = Path(schedule.inputs_file)
        if path.is_absolute() or ".." in path.parts:
            raise doc.error(
                f"inputs_file {schedule.inputs_file!r} must be inside the crew folder",
                (*at, "inputs_file"),
                "a path relative to the crew folder, e.g. topics.csv",
            )
        if not (crew_dir / path).is_file():
            raise doc.error(
                f"inputs_file {schedule.inputs_file!r} is not a file in {crew_dir}",
                (*at, "inputs_file"),
                f"create {crew_dir / path}, or give inputs: instead",
            )
        if schedule.inputs:
            raise doc.error(
                "a schedule takes inputs or an inputs_file, not both",
                (*at, "inputs"),
                "drop one of them",
            )
    return schedule


def next_fire_times(schedule: ScheduleSpec, after: datetime, count: int = 1) -> list[datetime]:
    """The next `count` times the schedule fires after `after`, in its timezone."""
    six = len(schedule.cron.split()) == 6
    start = after.astimezone(ZoneInfo(schedule.timezone))
    it = croniter(schedule.cron, start, second_at_beginning=six)
    return [it.get_next(datetime) for _ in range(count)]


def latest_fire_time(schedule: ScheduleSpec, before: datetime) -> datetime:
    """The last time the schedule fired (or should have) before `before`."""
    six = len(schedule.cron.split()) == 6
    start = before.astimezone(ZoneInfo(schedule.timezone))
    fired: datetime = croniter(schedule.cron, start, second_at_beginning=six).get_prev(datetime)
    return fired


def utc_now() -> datetime:
    return datetime.now(UTC)
