"""Where crewyard's logs go: a readable console sink (the command line adds it) and a JSON-lines
file per run. The library adds and removes only its own sinks, never the caller's."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar

from loguru import logger

from crewyard.environ import IMPORT_SECONDS

_console_id: int | None = None
LOADED_DEFAULT_SINK = 0  # the stderr sink loguru adds when it is imported


def configure(level: str = "INFO") -> None:
    """The command line's console sink at level (-v: TRACE, the whole event stream). It
    replaces loguru's own default stderr sink, which would print the same lines twice."""
    global _console_id
    if _console_id is not None:
        with suppress(ValueError):  # the caller removed every sink, ours among them
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


class _RunFiles:
    """One loguru sink writes every open run's JSON-lines file: adding and removing a sink per
    run cost ~5 ms of it. A caller who removes every sink (`logger.remove()`) removes this one
    too; each run checks, with a probe record the files never get, and adds it again."""

    def __init__(self) -> None:
        self._files: dict[str, Any] = {}  # run id → its open file
        self._sink: int | None = None
        self._probed = False
        self._lock = threading.Lock()

    def open(self, path: Path, run_id: str) -> None:
        with self._lock:
            self._files[run_id] = path.open("a", encoding="utf-8")
            self._probed = False
            logger.bind(run_id=run_id, run_log_probe=True).trace("run log")
            if not self._probed:  # never added, or removed by the caller
                if self._sink is not None:
                    with suppress(ValueError):
                        logger.remove(self._sink)
                self._sink = logger.add(
                    self._write, level="TRACE", serialize=True, filter=self._wanted
                )

    def close(self, run_id: str) -> None:
        with self._lock:
            file = self._files.pop(run_id, None)
        if file is not None:
            file.close()

    def _wanted(self, record: Any) -> bool:
        return record["extra"].get("run_id") in self._files

    def _write(self, message: Any) -> None:
        extra = message.record["extra"]
        if extra.get("run_log_probe"):
            self._probed = True
            return
        file = self._files.get(extra.get("run_id"))
        if file is not None:
            with suppress(ValueError):  # closed meanwhile: the run has ended
                file.write(message)
                file.flush()  # a line is on disk as soon as it is logged: nothing is lost


_run_files = _RunFiles()


@contextmanager
def run_log(path: Path, run_id: str) -> Iterator[Path]:
    """A JSON-lines file holding every record bound to run_id, for the run's duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _run_files.open(path, run_id)
    try:
        yield path
    finally:
        _run_files.close(run_id)


def process_age_s() -> float | None:
    """Seconds since this process started (from /proc, to 10 ms), or None where unknown."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return None


class StartUp:
    """Where a run's start-up went, told (at TRACE, as the event stream: -v) as its first model
    call is sent: the process's start to the run's (imports, crew files; the first run of a
    process only), memory (opening it, recalling), and the engine (its libraries and LiteLLM's,
    building the crew), with the big libraries' imports among them by name."""

    _first_run: ClassVar[bool] = True

    def __init__(self) -> None:
        self.began = time.perf_counter()
        self.age = process_age_s() if StartUp._first_run else None
        StartUp._first_run = False
        self.memory_s = 0.0
        self.engine_began: float | None = None
        self.imported_before = set(IMPORT_SECONDS)

    @contextmanager
    def memory(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.memory_s += time.perf_counter() - started

    def engine(self) -> None:
        self.engine_began = time.perf_counter()

    def line(self) -> str:
        now = time.perf_counter()
        engine = now - (self.engine_began or now)
        setup = now - self.began - self.memory_s - engine
        parts = [f"memory {self.memory_s:.2f} s", f"engine and model libraries {engine:.2f} s"]
        imports = [
            f"{library} {seconds:.2f} s"
            for library, seconds in IMPORT_SECONDS.items()
            if library not in self.imported_before
        ]
        if imports:  # those the run loaded: inside memory's and the engine's share
            parts.append(f"of which imports: {', '.join(imports)}")
        if self.age is None:
            return (
                f"start-up: {now - self.began:.2f} s from the run's start to its first model "
                f"call (set-up {setup:.2f} s, {', '.join(parts)})"
            )
        return (
            f"start-up: {self.age + now - self.began:.2f} s before the first model call "
            f"(imports and crew files {self.age:.2f} s, set-up {setup:.2f} s, {', '.join(parts)})"
        )

    def teller(self, log: Any) -> Callable[[], None]:
        return lambda: log.trace(self.line())  # as the event stream: -v and the run log
