"""Output files written so a crash never leaves half a file: temp + fsync + rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from crewyard.errors import ConfigError


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
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
    if candidate.is_absolute() or ".." in candidate.parts:
        raise ConfigError(
            f"output_file {relative!r} must be a relative path inside the run's output folder",
            key="output_file",
            hint="write a plain name such as report.md",
        )
    resolved = (root / candidate).resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ConfigError(f"output_file {relative!r} escapes {root}", key="output_file")
    return resolved
