"""crewyard: crews declared in YAML, run on CrewAI from the shell, batch jobs and notebooks.

    import crewyard
    result = crewyard.run("research", topic="solar storage")
    result            # renders as Markdown in Jupyter

Engines and models are imported on first run, so `import crewyard` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
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
    inputs: Mapping[str, Any] | None = None,
    **more_inputs: Any,
) -> RunResult:
    """Run a crew by name (or spec) with its inputs: inputs={"topic": …}, or as keyword
    arguments (topic=…) for short; both together are merged (a name given in both is an
    error). A crew input named like one of run's own keywords (models, record, replay,
    settings, human, on_event, stream, inputs) goes in inputs={…}: passing that keyword to a
    crew that declares such an input is refused as ambiguous (ConfigError).

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
    own = _own(settings, models, record, replay, human, on_event, stream)
    given = _merged(inputs, more_inputs)
    listeners = _listeners(on_event, stream)
    return _run(crew, settings, models, record, replay, human, listeners, given, own)


def _run(
    crew: str | CrewSpec,
    settings: Settings | None,
    models: dict[str, str] | None,
    record: bool | None,
    replay: str | None,
    human: Callable[[Question], str | None] | None,
    listeners: list[Listener],
    inputs: dict[str, Any],
    own: set[str],
) -> RunResult:
    from crewyard.dispatcher import Dispatcher

    spec = load_crew(crew, settings) if isinstance(crew, str) else crew
    _not_ambiguous(spec, own)
    person = _person(human)
    with Dispatcher(
        settings, model_overrides=models, listeners=listeners, human=person
    ) as dispatcher:
        return dispatcher.run(spec, inputs, record=record, replay=replay)  # memory freed after


# run()'s and arun()'s own keywords: a crew input of one of these names goes in inputs={…}
OWN_KEYWORDS = ("settings", "models", "record", "replay", "human", "on_event", "stream", "inputs")


def _own(
    settings: Settings | None,
    models: Mapping[str, str] | None,
    record: bool | None,
    replay: str | None,
    human: Callable[[Question], str | None] | None,
    on_event: Listener | None,
    stream: bool,
) -> set[str]:
    """Which of run's own keywords were given, each checked against what it means — a value
    that cannot be one is most likely a crew input of that name."""
    from crewyard.settings import Settings

    checks: dict[str, tuple[object, bool, str]] = {
        "settings": (settings, isinstance(settings, Settings), "crewyard.settings.Settings"),
        "models": (models, _is_aliases(models), 'alias overrides, {"smart": "openai/gpt-4o"}'),
        "record": (record, isinstance(record, bool), "True or False"),
        "replay": (replay, isinstance(replay, str), "a recorded run's id"),
        "human": (human, callable(human), "a function question → answer"),
        "on_event": (on_event, callable(on_event), "a function called with each event"),
        "stream": (stream or None, isinstance(stream, bool), "True or False"),
    }
    for name, (value, fits, meaning) in checks.items():
        if value is not None and not fits:
            raise ConfigError(
                f"{name}= is run()'s own keyword ({meaning}), not {value!r}",
                key=name,
                hint=f"to give a crew input named {name!r}, write inputs={{{name!r}: …}}",
            )
    return {name for name, (value, _, _) in checks.items() if value is not None}


def _is_aliases(value: object) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _merged(inputs: Mapping[str, Any] | None, more: dict[str, Any]) -> dict[str, Any]:
    """inputs={…} and the keyword inputs together; a name in both is refused."""
    if inputs is not None and not isinstance(inputs, Mapping):
        raise ConfigError(
            f"inputs= takes the crew's inputs as a mapping, not {type(inputs).__name__}",
            key="inputs",
            hint='write inputs={"topic": "tides"}; a crew input named inputs: inputs={"inputs": …}',
        )
    both = sorted(set(inputs or {}) & set(more))
    if both:
        raise ConfigError(
            f"input {both[0]!r} is given twice: in inputs={{…}} and as {both[0]}=…",
            key=both[0],
            hint="give it once, in inputs={…} or as a keyword",
        )
    return {**(inputs or {}), **more}


def _not_ambiguous(spec: CrewSpec, own: set[str]) -> None:
    """A crew input named like a keyword of run() that was given: which was meant?"""
    both = sorted(own & set(spec.inputs))
    if both:
        name = both[0]
        raise ConfigError(
            f"crew {spec.name!r} has an input named {name!r}, and {name}= is also run()'s own "
            "keyword: it is ambiguous which one you meant",
            key=name,
            hint=f"give the crew input as inputs={{{name!r}: …}}"
            + (
                ' (and alias overrides, if any, as models={"alias": "model"})'
                if name == "models"
                else f"; {name}= then keeps its meaning for run()"
            ),
        )


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
    inputs: Mapping[str, Any] | None = None,
    **more_inputs: Any,
) -> RunResult:
    """run() without blocking the event loop (the engines run in a worker thread; on_event
    is called from it). Inputs as for run(): inputs={…} and/or keywords."""
    import asyncio

    own = _own(settings, models, record, replay, human, on_event, stream)
    given = _merged(inputs, more_inputs)
    listeners = _listeners(on_event, stream)  # the live view belongs to the awaiting cell
    return await asyncio.to_thread(
        _run, crew, settings, models, record, replay, human, listeners, given, own
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
