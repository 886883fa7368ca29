"""Engines: what runs a crew's process. An engine declares the processes it runs (each with the
pydantic model of its `engine_options`) and runs a RunContext to its task outputs. This module
is the registry and stays light: an engine's library (CrewAI, AutoGen) is imported only when it
runs a crew.

A new process on an existing engine is a module plus a line in that engine's `processes`; a new
engine is an object with the `Engine` attributes, registered with `register(engine)` or from
another package through the `crewyard.engines` entry point group."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, ClassVar, Protocol

from pydantic import BaseModel

from crewyard import plugins
from crewyard.crews.options import BUILTIN_PROCESSES, PLANNING_PROCESSES
from crewyard.environ import imported
from crewyard.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from crewyard.context import RunContext
    from crewyard.runs.result import TaskOutput

ENTRY_POINTS = "crewyard.engines"


class Engine(Protocol):
    @property
    def name(self) -> str:
        """Shown in plans and run records."""
        ...

    @property
    def processes(self) -> Mapping[str, type[BaseModel]]:
        """The processes it runs, each with the model of its engine_options."""
        ...

    def run(self, ctx: RunContext) -> list[TaskOutput]:
        """Run ctx.spec (whose process is one of ours) to the end; the finished task outputs,
        in order, each already recorded through ctx.finish_task."""
        ...


class CrewAIEngine:
    """Sequential and hierarchical crews on CrewAI (crewai_engine.py)."""

    name = "crewai"
    processes: ClassVar = {p: BUILTIN_PROCESSES[p] for p in ("sequential", "hierarchical")}

    def run(self, ctx: RunContext) -> list[TaskOutput]:
        with imported("CrewAI"):
            from crewyard.engines.crewai_engine import run_crewai

        return run_crewai(ctx)


class AutoGenEngine:
    """Debate and coding crews as AutoGen AgentChat teams (autogen_engine.py), and the
    planning processes on AutoGen agents (autogen_planning.py)."""

    name = "autogen"
    processes: ClassVar = {
        p: BUILTIN_PROCESSES[p] for p in ("debate", "coding", *PLANNING_PROCESSES)
    }

    def run(self, ctx: RunContext) -> list[TaskOutput]:
        with imported("AutoGen"):
            if ctx.spec.process == "tree_of_thought":
                from crewyard.engines.autogen_thoughts import run_tree_of_thought as run
            elif ctx.spec.process in PLANNING_PROCESSES:
                from crewyard.engines.autogen_planning import run_plans as run
            else:
                from crewyard.engines.autogen_engine import run_autogen as run
        return run(ctx)


_registered: list[Engine] = [CrewAIEngine(), AutoGenEngine()]
_plugins_loaded = False


def register(engine: Engine) -> None:
    """Add an engine; a process it names replaces an earlier engine's claim to it."""
    _registered.append(engine)


def _load_plugins() -> None:
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for entry in plugins.declared(ENTRY_POINTS):
            found = entry.load()
            _registered.append(found() if isinstance(found, type) else found)


def engines() -> list[Engine]:
    """Every engine: the built-in ones, then registered ones and plugins."""
    _load_plugins()
    return list(_registered)


class Processes(Mapping[str, type[BaseModel]]):
    """Every process a crew may name, with its options model; plugins are looked for only
    when a name is not among the built-in and registered processes (or all are listed)."""

    def _known(self) -> dict[str, type[BaseModel]]:
        return {p: options for e in _registered for p, options in e.processes.items()}

    def __getitem__(self, process: str) -> type[BaseModel]:
        known = self._known()
        if process not in known:
            _load_plugins()
            known = self._known()
        return known[process]

    def __iter__(self) -> Iterator[str]:
        _load_plugins()
        return iter(self._known())

    def __len__(self) -> int:
        _load_plugins()
        return len(self._known())


def processes() -> Processes:
    """Every process a crew may name, with its options model."""
    return Processes()


def engine_for(process: str) -> Engine:
    """The engine that runs a process (the last registered claim wins)."""
    if process not in processes():
        _load_plugins()
    for engine in reversed(_registered):
        if process in engine.processes:
            return engine
    known = processes()
    raise ConfigError(
        f"no engine runs the process {process!r}",
        key="process",
        hint=did_you_mean(process, known) or f"processes: {', '.join(known)}",
    )
