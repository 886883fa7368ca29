"""crewyard: crews declared in YAML, run on CrewAI from the shell, batch jobs and notebooks.

    import crewyard
    result = crewyard.run("research", topic="solar storage")
    result            # renders as Markdown in Jupyter

Engines and models are imported on first run, so `import crewyard` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from crewyard.errors import ConfigError, CrewyardError, EngineError, InputError, ModelError

if TYPE_CHECKING:
    from crewyard.crews.spec import CrewSpec
    from crewyard.runs.result import RunResult
    from crewyard.settings import Settings

__version__ = "0.1.0"


def load_crew(name: str, settings: Settings | None = None) -> CrewSpec:
    """The crew called name, loaded and checked (ConfigError says file:line and the fix)."""
    from crewyard import crews, engines

    crews_dir = settings.crews_dir if settings is not None else None
    return crews.load_crew(name, crews_dir, engines.processes())


def list_crews(settings: Settings | None = None) -> list[str]:
    """Names of the crews in the crews folder."""
    from crewyard import crews

    return crews.discover(settings.crews_dir if settings is not None else None)


def run(
    crew: str | CrewSpec,
    *,
    settings: Settings | None = None,
    models: dict[str, str] | None = None,
    record: bool = False,
    replay: str | None = None,
    **inputs: Any,
) -> RunResult:
    """Run a crew by name (or spec) with its inputs as keyword arguments.

    models overrides aliases, e.g. {"smart": "openai/gpt-4o"}. record=True keeps every model
    request and reply as a cassette; replay="RUN_ID" runs a recorded run again from its
    cassette, calling no model (inputs default to the recorded ones; a request that differs
    fails the run with a diff). Raises RunFailed (with .result holding every finished task
    output) if the run fails."""
    from crewyard.dispatcher import Dispatcher

    spec = load_crew(crew, settings) if isinstance(crew, str) else crew
    with Dispatcher(settings, model_overrides=models) as dispatcher:  # frees the memory after
        return dispatcher.run(spec, inputs, record=record, replay=replay)


def costs(
    by: str = "crew", since_days: float | None = None, settings: Settings | None = None
) -> list[dict[str, Any]]:
    """Tokens, dollars, calls and cache savings grouped by crew, model, agent or day."""
    from crewyard.runs.costs import cost_report
    from crewyard.runs.store import RunStore
    from crewyard.settings import Settings

    return cost_report(RunStore((settings or Settings()).run_store), by, since_days)


async def arun(
    crew: str | CrewSpec,
    *,
    settings: Settings | None = None,
    models: dict[str, str] | None = None,
    record: bool = False,
    replay: str | None = None,
    **inputs: Any,
) -> RunResult:
    """run() without blocking the event loop (the engines run in a worker thread)."""
    import asyncio

    return await asyncio.to_thread(
        run, crew, settings=settings, models=models, record=record, replay=replay, **inputs
    )


def __getattr__(name: str) -> Any:
    # crewyard.memory is the memory package, which opens the shared memory when called:
    # crewyard.memory().search("…")
    if name == "memory":
        return importlib.import_module("crewyard.memory")
    raise AttributeError(f"module 'crewyard' has no attribute {name!r}")


__all__ = [
    "ConfigError",
    "CrewyardError",
    "EngineError",
    "InputError",
    "ModelError",
    "arun",
    "costs",
    "list_crews",
    "load_crew",
    "memory",
    "run",
]
