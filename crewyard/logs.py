"""loguru, configured once: a readable console sink and a JSON-lines file per run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loguru import logger

from crewyard.redact import redact

_console_id: int | None = None


def _redact_record(record: Any) -> None:
    record["message"] = redact(record["message"])
    for key, value in list(record["extra"].items()):
        if isinstance(value, str):
            record["extra"][key] = redact(value)


def ensure_configured() -> None:
    """Configure with defaults unless the CLI (or the user) already did."""
    if _console_id is None:
        configure()


def configure(level: str = "INFO") -> None:
    """(Re)configure the console sink; secrets are masked in every sink."""
    global _console_id
    logger.configure(patcher=_redact_record)
    if _console_id is not None:
        logger.remove(_console_id)
    else:
        logger.remove()
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
        level="DEBUG",
        serialize=True,
        filter=lambda record: record["extra"].get("run_id") == run_id,
        enqueue=False,
    )
    try:
        yield path
    finally:
        logger.remove(sink_id)
