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
    from collections.abc import Callable
    from pathlib import Path

    from crewyard.crews.spec import CrewSpec
    from crewyard.durable.batch import BatchResult
    from crewyard.human import Human, Question
    from crewyard.runs.events import Listener
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
    record: bool | None = None,
    replay: str | None = None,
    human: Callable[[Question], str | None] | None = None,
    on_event: Listener | None = None,
    stream: bool = False,
    **inputs: Any,
) -> RunResult:
    """Run a crew by name (or spec) with its inputs as keyword arguments.

    models overrides aliases, e.g. {"smart": "openai/gpt-4o"}. Every model request and reply
    is kept as a cassette (record=False: not for this run), for crewyard.resume and replay;
    replay="RUN_ID" runs a recorded run again from its cassette, calling no model (inputs
    default to the recorded ones; a request that differs fails the run with a diff). Raises
    RunFailed (with .result holding every finished task output) if the run fails.

    human answers the run's questions (`human_input: true`, a human judge, an approval):
    question → answer, or None to park the run; by default a notebook's input box asks,
    and anywhere else the run parks (RunWaiting) until crewyard.answer(run_id, text).

    on_event(event) is called with every event of the run as it happens (an Event: .kind,
    .run_id, .data), and with each piece of a streamed reply (kind `model_chunk`) when
    stream=True or when the function has an attribute `wants_chunks = True`. stream=True
    streams every reply and shows the run live: under the cell in Jupyter, else on stderr."""
    listeners = _listeners(on_event, stream)
    return _run(crew, settings, models, record, replay, human, listeners, inputs)


def _run(
    crew: str | CrewSpec,
    settings: Settings | None,
    models: dict[str, str] | None,
    record: bool | None,
    replay: str | None,
    human: Callable[[Question], str | None] | None,
    listeners: list[Listener],
    inputs: dict[str, Any],
) -> RunResult:
    from crewyard.dispatcher import Dispatcher

    spec = load_crew(crew, settings) if isinstance(crew, str) else crew
    person = _person(human)
    with Dispatcher(
        settings, model_overrides=models, listeners=listeners, human=person
    ) as dispatcher:
        return dispatcher.run(spec, inputs, record=record, replay=replay)  # memory freed after


def _listeners(on_event: Listener | None, stream: bool) -> list[Listener]:
    from crewyard.observe.streaming import AskingForChunks

    listeners: list[Listener] = []
    if on_event is not None:
        wants = stream and not getattr(on_event, "wants_chunks", False)
        listeners.append(AskingForChunks(on_event) if wants else on_event)
    if stream:
        from crewyard.observe.progress import live_view

        listeners.append(live_view())
    return listeners


def answer(
    run_id: str,
    text: str | None = None,
    *,
    settings: Settings | None = None,
    human: Callable[[Question], str | None] | None = None,
) -> RunResult:
    """Answer the question a parked run waits on (text None: the crew's default answer) and
    resume it; returns the resumed run's result (it may park again on a next question)."""
    from crewyard.human.answers import give_answer
    from crewyard.settings import Settings

    asked = give_answer(settings or Settings(), run_id, text)
    return resume(asked.run_id, settings=settings, human=human)


def _person(human: Callable[[Question], str | None] | None) -> Human | None:
    from crewyard.human import CallbackHuman
    from crewyard.human.terminal import NotebookHuman, in_notebook

    if human is not None:
        return CallbackHuman(human)
    return NotebookHuman() if in_notebook() else None


def resume(
    run_id: str,
    *,
    from_task: str | None = None,
    settings: Settings | None = None,
    models: dict[str, str] | None = None,
    human: Callable[[Question], str | None] | None = None,
) -> RunResult:
    """Continue a run that stopped: its finished tasks keep their outputs and its recorded
    model calls are reused (none is paid twice); from_task reruns from that task. Returns the
    new run's result (its resume_of names the old run)."""
    from crewyard.dispatcher import Dispatcher

    with Dispatcher(settings, model_overrides=models, human=_person(human)) as dispatcher:
        crew = dispatcher.store.get(run_id).crew
        spec = load_crew(crew, dispatcher.settings)
        return dispatcher.run(spec, resume=run_id, from_task=from_task)


def batch(
    crew: str,
    items: list[dict[str, Any]] | str | Path,
    *,
    concurrency: int = 4,
    rate: float | None = None,
    max_tokens: int | None = None,
    max_cost_usd: float | None = None,
    out: str | Path | None = None,
    models: dict[str, str] | None = None,
    settings: Settings | None = None,
    progress: bool = True,
) -> BatchResult:
    """Run a crew once per item (a list of input dicts, or a JSONL/CSV/YAML file), durably:
    each item runs once, `concurrency` at a time; a failing item is recorded, never fatal.
    The result has per-item results (.items, .failed) and .records() for pandas; a live
    progress line shows in Jupyter and on a terminal. Resume a stopped batch with
    crewyard.resume_batch(batch_id)."""
    from crewyard.durable.api import notebook_batch

    return notebook_batch(
        crew,
        items,
        concurrency=concurrency,
        rate=rate,
        max_tokens=max_tokens,
        max_cost_usd=max_cost_usd,
        out=out,
        models=models,
        settings=settings,
        progress=progress,
    )


def resume_batch(
    batch_id: str, *, settings: Settings | None = None, progress: bool = True
) -> BatchResult:
    """Run a batch's unfinished items again (after a crash or an interrupt)."""
    from crewyard.durable.api import notebook_resume_batch

    return notebook_resume_batch(batch_id, settings=settings, progress=progress)


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
    record: bool | None = None,
    replay: str | None = None,
    human: Callable[[Question], str | None] | None = None,
    on_event: Listener | None = None,
    stream: bool = False,
    **inputs: Any,
) -> RunResult:
    """run() without blocking the event loop (the engines run in a worker thread; on_event
    is called from it)."""
    import asyncio

    listeners = _listeners(on_event, stream)  # the live view belongs to the awaiting cell
    return await asyncio.to_thread(
        _run, crew, settings, models, record, replay, human, listeners, inputs
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
    "answer",
    "arun",
    "batch",
    "costs",
    "list_crews",
    "load_crew",
    "memory",
    "resume",
    "resume_batch",
    "run",
]
