"""Where crewyard's logs go: a readable console sink (the command line adds it) and a JSON-lines
file per run. The library adds and removes only its own sinks, never the caller's."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from loguru import logger

_console_id: int | None = None
LOADED_DEFAULT_SINK = 0  # the stderr sink loguru adds when it is imported


def configure(level: str = "INFO") -> None:
    """The command line's console sink at level (-v: TRACE, the whole event stream). It
    replaces loguru's own default stderr sink, which would print the same lines twice."""
    global _console_id
    if _console_id is not None:
        logger.remove(_console_id)
    else:
        with suppress(ValueError):  # already removed by whoever runs us
            logger.remove(LOADED_DEFAULT_SINK)
    _console_id = logger.add(
        sys.stderr,
        level=level,
        format="<dim>{time:HH:mm:ss}</dim> <level>{level: <7}</level> {message}",
        colorize=None,
    )


@contextmanager
def run_log(path: Path, run_id: str) -> Iterator[Path]:
    """A JSON-lines sink holding every record bound to run_id, for the run's duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sink_id = logger.add(
        path,
        level="TRACE",
        serialize=True,
        filter=lambda record: record["extra"].get("run_id") == run_id,
        enqueue=False,
    )
    try:
        yield path
    finally:
        logger.remove(sink_id)
