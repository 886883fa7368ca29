"""The crews people write — one folder per crew (crew.yaml, agents.yaml, tasks.yaml, an optional
hooks.py) — and everything that reads a crew folder: specs, the loader and its checks, inputs,
hooks, YAML with lines, the `auto` rule and the built-in processes' options."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from crewyard.crews.spec import CrewFile, CrewSpec, InputSpec

if TYPE_CHECKING:
    from pydantic import BaseModel

CREWS_DIR = Path(__file__).resolve().parent


def discover(crews_dir: Path | None = None) -> list[str]:
    """Names of the crews in crews_dir (default: the configured crews folder)."""
    from crewyard.crews.loader import discover as _discover

    return _discover(crews_dir or _configured_dir())


def load_crew(
    name: str,
    crews_dir: Path | None = None,
    processes: Mapping[str, type[BaseModel]] | None = None,
) -> CrewSpec:
    """The crew called name, loaded and checked (raises ConfigError with file:line). name is
    the name of a folder in crews_dir: a path ('../x', '/x', 'a/b') is refused before any file
    is read; a folder there that is a symlink is followed, wherever it points.
    processes: what a crew may name as its process (default: the built-in ones; crewyard's
    own callers pass every engine's, plugins included)."""
    from crewyard.crews.loader import load_crew as _load

    return _load(name, crews_dir or _configured_dir(), processes)


def _configured_dir() -> Path:
    from crewyard.settings import Settings

    return Settings().crews_dir


__all__ = ["CREWS_DIR", "CrewFile", "CrewSpec", "InputSpec", "discover", "load_crew"]
