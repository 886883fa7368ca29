"""OpenTelemetry spans from real runs on the scripted model: a CrewAI run and an AutoGen debate
give the span tree run → task → agent turn → model call / tool call with the GenAI attributes;
a batch's item runs go under the batch's span, a firing's run or batch under the firing's, a run
under the parent it is given; CrewAI's own telemetry stays off while ours exports. (The OTLP
exports: test_tracing_otlp.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.durable.batch import run_batch
from crewyard.durable.items import read_items
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.observe import spans
from crewyard.observe.tracing import Tracing
from crewyard.settings import Settings
from tests.conftest import standard_at
from tests.fakellm.server import FakeLLM, Reply

CALC = {
    "role": "Calculator",
    "goal": "Compute with the calculator tool",
    "backstory": "b",
    "tools": ["calculator"],
    "max_iter": 4,
}
JUDGE = {"role": "Judge", "goal": "Judge", "backstory": "b"}


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """This process's runs traced into memory (as OTEL_* would, with a real exporter)."""
    exporter = InMemorySpanExporter()
    with monkeypatch.context() as env:
        env.delenv("OTEL_SDK_DISABLED")  # the tests' own switch for CrewAI's, read here
        provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans.install(Tracing(provider))
    yield exporter
    spans.install(None)
    provider.shutdown()


def solo(make_crew: Any, **crew: Any) -> None:
    make_crew(
        "solo",
        agents={"a": {"role": "Solo", "goal": "g", "backstory": "b"}},
        tasks={"t": {"description": "d", "expected_output": "e"}},
        crew={"memory": {"enabled": False}, **crew},
    )


def by_name(finished: tuple[ReadableSpan, ...]) -> dict[str, list[ReadableSpan]]:
    named: dict[str, list[ReadableSpan]] = {}
    for s in finished:
        named.setdefault(s.name, []).append(s)
    return named


def parent_of(span: ReadableSpan, finished: tuple[ReadableSpan, ...]) -> ReadableSpan | None:
    ids = {s.context.span_id: s for s in finished}
    return ids.get(span.parent.span_id) if span.parent is not None else None


def test_a_crewai_run_is_a_tree_of_task_turn_model_and_tool_spans(
    settings: Settings, make_crew: Any, exported: InMemorySpanExporter
) -> None:
    make_crew(
        "calc",
        crew={"inputs": {"n": {"type": "int", "required": True, "description": "n"}}},
        agents={"calc": CALC, "writer": {"role": "Writer", "goal": "g", "backstory": "b"}},
        tasks={
            "compute": {
                "description": "Compute {n} * 7",
                "expected_output": "a number",
                "agent": "calc",
            },
            "report": {"description": "Report it", "expected_output": "text", "agent": "writer"},
        },
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script(
        "main",
        [
            'Thought: use it\nAction: calculator\nAction Input: {"expression": "6 * 7"}',
            "Thought: done\nFinal Answer: 42",
            "Final Answer: The answer is 42.",
        ],
    )
    result = Dispatcher(settings, gateway=gateway).run(
        load_crew("calc", settings.crews_dir), {"n": 6}
    )
    assert result.status == "done", result.error

    finished = exported.get_finished_spans()
    named = by_name(finished)
    (run,) = named["invoke_workflow calc"]
    assert run.parent is None
    assert run.attributes is not None
    assert run.attributes["gen_ai.operation.name"] == "invoke_workflow"
    assert run.attributes["crewyard.crew"] == "calc"
    assert run.attributes["crewyard.process"] == "sequential"
    assert run.attributes["crewyard.engine"] == "crewai"
    assert run.attributes["crewyard.run_id"] == result.run_id
    assert list(run.attributes["crewyard.inputs"]) == ["n"]  # names, never the values
    assert run.attributes["crewyard.status"] == "done"
    tasks = named["task compute"] + named["task report"]
    assert [parent_of(t, finished) for t in tasks] == [run, run]

    chats = [s for s in finished if s.name.startswith("chat ")]
    assert len(chats) == 3
    for chat in chats:
        attrs = chat.attributes or {}
        assert chat.name == "chat main"
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.system"] == "scripted"
        assert attrs["gen_ai.request.model"] == "main"
        assert attrs["gen_ai.usage.input_tokens"] > 0  # type: ignore[operator]
        assert attrs["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]
        assert attrs["crewyard.alias"] == "standard"
        assert attrs["crewyard.attempt"] == 1
        assert attrs["crewyard.cache_hit"] is False
        assert "crewyard.cost_usd" in attrs
        turn = parent_of(chat, finished)
        assert turn is not None and turn.name.startswith("invoke_agent ")
        task = parent_of(turn, finished)
        assert task is not None and task.name.startswith("task ")
        assert chat.start_time is not None and chat.end_time is not None
        assert turn.start_time is not None and turn.end_time is not None
        assert turn.start_time <= chat.start_time <= chat.end_time <= turn.end_time
    turns_of = {parent_of(c, finished).name for c in chats}  # type: ignore[union-attr]
    assert turns_of == {"invoke_agent calc", "invoke_agent writer"}

    (tool,) = named["execute_tool calculator"]
    attrs = tool.attributes or {}
    assert attrs["gen_ai.tool.name"] == "calculator"
    assert attrs["crewyard.tool.duration_ms"] >= 0  # type: ignore[operator]
    turn = parent_of(tool, finished)
    assert turn is not None and turn.name == "invoke_agent calc"
    assert parent_of(turn, finished) == named["task compute"][0]
    assert all(s.end_time is not None for s in finished)  # every span ended with the run


def test_an_autogen_debate_is_traced_the_same_way(
    settings: Settings, make_crew: Any, exported: InMemorySpanExporter
) -> None:
    make_crew(
        "argue",
        agents={"pro": {"role": "Pro", "goal": "g", "backstory": "b"}, "judge": JUDGE},
        tasks={"decide": {"description": "Decide", "expected_output": "a verdict"}},
        crew={
            "process": "debate",
            "engine_options": {"rounds": 1, "debaters": ["pro"], "judge": "judge"},
            "memory": {"enabled": False},
        },
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", ["Tea is better.", "Verdict: tea."])
    result = Dispatcher(settings, gateway=gateway).run(load_crew("argue", settings.crews_dir))
    assert result.status == "done", result.error

    finished = exported.get_finished_spans()
    named = by_name(finished)
    (run,) = named["invoke_workflow argue"]
    assert (run.attributes or {})["crewyard.engine"] == "autogen"
    (task,) = [s for s in finished if s.name.startswith("task ")]
    assert parent_of(task, finished) == run
    chats = [s for s in finished if s.name.startswith("chat ")]
    assert len(chats) == 2
    agents = []
    for chat in chats:
        turn = parent_of(chat, finished)
        assert turn is not None and turn.name.startswith("invoke_agent ")
        assert parent_of(turn, finished) == task
        agents.append((chat.attributes or {})["gen_ai.agent.name"])
    assert agents == ["pro", "judge"]


def answer(body: dict[str, Any]) -> Reply:
    return Reply(text="Final Answer: noted")


def test_a_batchs_item_runs_go_under_the_batch_span(
    settings: Settings,
    two_step_crew: Path,
    exported: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    with FakeLLM(responder=answer) as fake:
        standard_at(settings, fake.url, monkeypatch, num_retries=0)
        csv = tmp_path / "topics.csv"
        csv.write_text("topic\nalpha\nbeta\n")
        spec = load_crew("demo", settings.crews_dir)
        done = run_batch(settings, spec, read_items(csv, spec), concurrency=2)
    assert done.counts["done"] == 2

    finished = exported.get_finished_spans()
    (batch,) = by_name(finished)["batch demo"]
    assert (batch.attributes or {})["crewyard.batch.id"] == done.batch_id
    runs = by_name(finished)["invoke_workflow demo"]
    assert len(runs) == 2
    assert all(parent_of(r, finished) == batch for r in runs)
    assert {r.context.trace_id for r in runs} == {batch.context.trace_id}


def test_crewai_telemetry_stays_off_while_ours_is_on(
    settings: Settings, make_crew: Any, exported: InMemorySpanExporter
) -> None:
    """CrewAI made its telemetry with OTEL_SDK_DISABLED set at its import; our spans flow."""
    from crewyard.engines import crewai_engine

    solo(make_crew)
    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", ["Final Answer: done"])
    Dispatcher(settings, gateway=gateway).run(load_crew("solo", settings.crews_dir))
    assert crewai_engine.Telemetry().ready is False
    assert "invoke_workflow solo" in by_name(exported.get_finished_spans())


def test_a_run_goes_under_the_parent_it_is_given_or_the_span_it_runs_in(
    settings: Settings, make_crew: Any, exported: InMemorySpanExporter
) -> None:
    solo(make_crew)
    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", ["Final Answer: one", "Final Answer: two"])
    dispatcher = Dispatcher(settings, gateway=gateway)
    spec = load_crew("solo", settings.crews_dir)
    theirs = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    dispatcher.run(spec, trace_parent={"traceparent": theirs})
    with spans.span("notebook cell", {}) as carrier:
        assert carrier is not None
        dispatcher.run(spec)
    finished = exported.get_finished_spans()
    first, second = by_name(finished)["invoke_workflow solo"]
    assert f"{first.context.trace_id:032x}" == theirs.split("-")[1]
    assert first.parent is not None and f"{first.parent.span_id:016x}" == theirs.split("-")[2]
    assert parent_of(second, finished) == by_name(finished)["notebook cell"][0]


def test_a_schedules_firing_is_the_parent_of_its_run(
    settings: Settings, make_crew: Any, exported: InMemorySpanExporter
) -> None:
    from datetime import UTC, datetime

    from crewyard.durable.runner import CrewRunner
    from crewyard.durable.schedules import fire

    solo(make_crew, schedules=[{"name": "daily", "cron": "0 6 * * *", "overlap": "queue"}])
    script = {"model": "scripted/main", "script": ["Final Answer: done"]}
    settings.models_file.write_text(json.dumps({"aliases": {"standard": script}}))
    runner = CrewRunner(settings)
    try:
        context = {"crew": "solo", "schedule": "daily"}
        assert fire(settings, runner, context, datetime.now(UTC), "firing-1") == "done"
    finally:
        runner.close()
    finished = exported.get_finished_spans()
    (firing,) = by_name(finished)["schedule daily"]
    assert (firing.attributes or {})["crewyard.firing"] == "firing-1"
    (run,) = by_name(finished)["invoke_workflow solo"]
    assert parent_of(run, finished) == firing


def test_a_firings_batch_and_its_item_runs_nest_under_the_firing(
    settings: Settings,
    two_step_crew: Path,
    exported: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A firing as a worker runs it, without the worker's cron (a worker in this process
    leaves the firings it parks at its stop behind, and they keep the process from exiting)."""
    from datetime import UTC, datetime

    from crewyard.durable import engine
    from crewyard.durable.batch import run_item
    from crewyard.durable.runner import CrewRunner
    from crewyard.durable.schedules import fire
    from tests.contract.test_schedules import with_schedules

    (two_step_crew / "topics.csv").write_text("topic\nwind\ntides\n")
    schedule = {"name": "daily", "cron": "0 6 * * *", "overlap": "queue"}
    with_schedules(two_step_crew, {**schedule, "inputs_file": "topics.csv"})
    runner = CrewRunner(settings)
    engine.set_item_runner(lambda batch_id, item_id: run_item(runner, batch_id, item_id))
    with FakeLLM(responder=answer) as fake:
        standard_at(settings, fake.url, monkeypatch, num_retries=0)
        engine.launch(settings.data_dir, settings.database_url)
        try:
            context = {"crew": "demo", "schedule": "daily"}
            assert fire(settings, runner, context, datetime.now(UTC), "firing-2") == "done"
        finally:
            engine.shutdown()
            runner.close()
    finished = exported.get_finished_spans()
    named = by_name(finished)
    (batch,) = named["batch demo"]
    assert parent_of(batch, finished) == named["schedule daily"][0]
    runs = named["invoke_workflow demo"]
    assert len(runs) == 2 and all(parent_of(r, finished) == batch for r in runs)
