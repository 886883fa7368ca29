"""The crews people write: one folder per crew (crew.yaml, agents.yaml, tasks.yaml)."""

from __future__ import annotations

from pathlib import Path

from crews.spec import CrewFile, CrewSpec, InputSpec

CREWS_DIR = Path(__file__).resolve().parent


def discover(crews_dir: Path | None = None) -> list[str]:
    """Names of the crews in crews_dir (default: the configured crews folder)."""
    from crewyard.loader import discover as _discover

    return _discover(crews_dir or _configured_dir())


def load_crew(name: str, crews_dir: Path | None = None) -> CrewSpec:
    """The crew called name, loaded and checked (raises ConfigError with file:line)."""
    from crewyard.loader import load_crew as _load

    return _load(name, crews_dir or _configured_dir())


def _configured_dir() -> Path:
    from crewyard.settings import Settings

    return Settings().crews_dir


__all__ = ["CREWS_DIR", "CrewFile", "CrewSpec", "InputSpec", "discover", "load_crew"]
