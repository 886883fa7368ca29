"""Files a run writes, and the one path every finished task takes: its output checkpointed in
the run store, written to its output_file inside the run's folder (placeholders filled, the
path confined, the file replaced atomically), and announced as a task_finished event."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from crewyard.crews.inputs import fill
from crewyard.errors import ConfigError
from crewyard.runs.events import EventKind, EventSink
from crewyard.runs.result import TaskOutput


def write_atomic(path: Path, text: str) -> None:
    """Write so that a crash never leaves half a file: temp + fsync + rename. The file gets
    the mode a plain write would give it (0666 less the umask), or keeps the one it had."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.is_file()
    mode = path.stat().st_mode & 0o7777 if existing else 0o666
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # the umask applies
    if existing:
        os.fchmod(fd, mode)  # an existing file keeps its mode, whatever the umask
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def confined(root: Path, relative: str) -> Path:
    """root/relative, refusing absolute paths and any escape through '..' or symlinks."""
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts or not relative.strip():
        raise ConfigError(
            f"output_file {relative!r} must be a relative path inside the run's output folder",
            key="output_file",
            hint="write a plain name such as report.md",
        )
    resolved = (root / candidate).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ConfigError(f"output_file {relative!r} escapes {root}", key="output_file")
    return resolved


def output_path(output_dir: Path, template: str, inputs: dict[str, Any]) -> tuple[str, Path]:
    """(name, path) of an output_file: placeholders filled, confined to output_dir."""
    name = fill(template, inputs)
    return name, confined(output_dir, name)


def finish_task(
    events: EventSink,
    output_dir: Path,
    inputs: dict[str, Any],
    task: str,
    agent: str | None,
    output: str,
    output_file: str | None,
    finished: bool = True,
) -> TaskOutput:
    """Record a finished task (or, finished=False, the last attempt of one that failed: kept,
    not announced). The checkpoint comes first, so an output_file that cannot be written (an
    input that makes it escape the folder) still loses no output."""
    name, path, problem = None, None, None
    if output_file:
        try:
            name, path = output_path(output_dir, output_file, inputs)
        except ConfigError as exc:
            problem = exc
    events.store.checkpoint(events.run_id, task, agent, output, name)
    if path is not None:
        write_atomic(path, output)
    if finished:
        events.emit(
            EventKind.TASK_FINISHED, task=task, agent=agent, chars=len(output), output_file=name
        )
    if problem is not None:
        raise problem
    return TaskOutput(task, agent, output, name)
