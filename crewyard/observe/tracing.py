"""OpenTelemetry spans from a run's events — the one module that imports OpenTelemetry.

A run's event stream already says everything a trace shows, so the engines stay untouched:
the listener turns events into spans with their own start and end times, following the GenAI
semantic conventions where they have a name for it:

    batch CREW / schedule NAME            (durable work: crewyard.batch.id, crewyard.schedule)
      invoke_workflow CREW                a run: crew, process, engine, the inputs' keys
        task TASK                         task_started … task_finished
          invoke_agent AGENT              an agent's turn, until its next turn or the task's end
            chat MODEL                    one model call attempt (gen_ai.*, cost, cache, attempt)
            execute_tool TOOL             one tool call (gen_ai.tool.name, duration)

A model call's span ends when its event is emitted and starts its latency earlier (a tool
call's, its duration). The spans are crewyard's own TracerProvider's: CrewAI's telemetry, off
since its import, never sees them, and the process's global provider is left alone."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from crewyard.redact import logger
from crewyard.runs.events import Event, EventKind

SCOPE = "crewyard"
ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_propagator = TraceContextTextMapPropagator()


Parent = Callable[[], Mapping[str, str] | None]  # the carrier a run starting now goes under


def _no_parent() -> None:
    return None


def from_environment(console: bool = False, parent_of: Parent = _no_parent) -> Tracing:
    """The Tracing the standard variables describe: OTEL_TRACES_EXPORTER (console, otlp; a
    comma-separated list; otlp when only an endpoint is given, console for -v), the OTLP
    exporter's own OTEL_EXPORTER_OTLP_* (endpoint, protocol http/protobuf or grpc, headers,
    timeout), OTEL_SERVICE_NAME (default crewyard), OTEL_TRACES_SAMPLER. The SDK reads them
    from os.environ itself: call this inside environ.settled() (spans.active does)."""
    env = os.environ
    named = [e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    named = [e for e in named if e and e != "none"]
    if not named:
        named = ["console"] if console else []
        if any(env.get(k, "").strip() for k in ENDPOINTS):
            named.append("otlp")
    given = env.get("OTEL_SERVICE_NAME") or "service.name=" in env.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    )
    resource = Resource.create({} if given else {SERVICE_NAME: "crewyard"})
    provider = TracerProvider(resource=resource)
    for name in dict.fromkeys(named):
        exporter = _exporter(name, env)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider, parent_of)


def _exporter(name: str, env: Mapping[str, str]) -> SpanExporter | None:
    if name == "console":
        return ConsoleSpanExporter(out=sys.stderr)  # stdout is the run's output
    if name != "otlp":
        logger.warning("OTEL_TRACES_EXPORTER={}: crewyard exports console or otlp", name)
        return None
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter()
    if protocol != "http/protobuf":
        logger.warning("OTEL_EXPORTER_OTLP_PROTOCOL={}: exporting http/protobuf", protocol)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class Tracing:
    """A TracerProvider's spans for crewyard: `listener` for the runs' events, `span` for the
    parents (batches, firings)."""

    def __init__(self, provider: TracerProvider, parent_of: Parent = _no_parent) -> None:
        self.provider = provider
        self.tracer = provider.get_tracer(SCOPE)
        self.listener = SpanListener(self.tracer, parent_of)

    @contextmanager
    def span(
        self, name: str, attributes: Mapping[str, Any], parent: Mapping[str, str] | None = None
    ) -> Iterator[dict[str, str]]:
        """A span for the body, under parent; yields its carrier for the work it holds. It
        is never made the current span of OpenTelemetry's own context (what other libraries
        in the process trace stays as it was)."""
        span = self.tracer.start_span(name, context=_context(parent), attributes=_clean(attributes))
        carrier: dict[str, str] = {}
        _propagator.inject(carrier, trace.set_span_in_context(span))
        try:
            yield carrier
        except BaseException as exc:
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:500]))
            raise
        finally:
            span.end()

    def flush(self, timeout_ms: int = 30_000) -> bool:
        return self.provider.force_flush(timeout_ms)

    def shutdown(self) -> None:
        self.provider.shutdown()


def _context(carrier: Mapping[str, str] | None) -> Context | None:
    return _propagator.extract(dict(carrier)) if carrier else None


def _ns(ts: float) -> int:
    return int(ts * 1e9)


_PLAIN = frozenset((bool, int, float, str))


def _clean(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes OpenTelemetry takes: no None, lists of strings, other values as text."""
    clean: dict[str, Any] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if type(value) in _PLAIN:
            clean[key] = value
        elif isinstance(value, list | tuple):
            clean[key] = [str(v) for v in value]
        else:
            clean[key] = str(value)
    return clean


@dataclass
class _Run:
    span: Span
    tasks: dict[str, Span] = field(default_factory=dict)
    turns: dict[tuple[str | None, str | None], Span] = field(default_factory=dict)
    by_agent: dict[str | None, Span] = field(default_factory=dict)  # each agent's last turn


class SpanListener:
    """An event listener (for any number of runs at once) that keeps each run's open spans."""

    def __init__(self, tracer: trace.Tracer, parent_of: Parent = _no_parent) -> None:
        self.tracer = tracer
        self.parent_of = parent_of  # read when a run starts, in the thread that starts it
        self._runs: dict[str, _Run] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            if event.kind is EventKind.RUN_STARTED:
                self._started(event)
                return
            run = self._runs.get(event.run_id)
            if run is None:
                return
            handler = _HANDLERS.get(event.kind)
            if handler is not None:
                handler(self, run, event)
            if event.kind is EventKind.RUN_FINISHED:
                del self._runs[event.run_id]

    def _start(
        self, name: str, parent: Span, ts: float, attrs: Mapping[str, Any], **kw: Any
    ) -> Span:
        return self.tracer.start_span(
            name,
            context=trace.set_span_in_context(parent),
            start_time=_ns(ts),
            attributes=_clean(attrs),
            **kw,
        )

    def _started(self, event: Event) -> None:
        d = event.data
        crew = str(d.get("crew"))
        attrs = {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": crew,
            "crewyard.run_id": event.run_id,
            "crewyard.crew": crew,
            "crewyard.process": d.get("process"),
            "crewyard.engine": d.get("engine"),
            "crewyard.engine_reason": d.get("reason"),
            "crewyard.inputs": sorted(d.get("inputs") or {}),  # names only: values may be secret
            "crewyard.replay_of": d.get("replay_of"),
            "crewyard.resume_of": d.get("resume_of"),
        }
        span = self.tracer.start_span(
            f"invoke_workflow {crew}",
            context=_context(self.parent_of()),  # a batch's, a firing's
            start_time=_ns(event.ts),
            attributes=_clean(attrs),
        )
        self._runs[event.run_id] = _Run(span)

    def _task_started(self, run: _Run, event: Event) -> None:
        task = str(event.data.get("task"))
        if task in run.tasks:
            return
        attrs = {
            "crewyard.task": task,
            "gen_ai.agent.name": event.data.get("agent"),
            "crewyard.task.kept": True if event.kind is EventKind.TASK_KEPT else None,
        }
        run.tasks[task] = self._start(f"task {task}", run.span, event.ts, attrs)

    def _task_finished(self, run: _Run, event: Event) -> None:
        task = str(event.data.get("task"))
        for key in [k for k in run.turns if k[0] == task]:
            self._end_turn(run, key, event.ts)
        span = run.tasks.pop(task, None)
        if span is not None:
            span.set_attributes(
                _clean(
                    {
                        "crewyard.output_chars": event.data.get("chars"),
                        "crewyard.output_file": event.data.get("output_file"),
                        "crewyard.task.finished": not task.endswith(" (unfinished)"),
                    }
                )
            )
            span.end(end_time=_ns(event.ts))

    def _turn(self, run: _Run, event: Event) -> None:
        task, agent = event.data.get("task"), event.data.get("agent")
        key = (task, agent)
        self._end_turn(run, key, event.ts)
        parent = (run.tasks.get(task) if task else None) or run.span
        attrs = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}
        attrs["crewyard.task"] = task
        span = self._start(f"invoke_agent {agent}", parent, event.ts, attrs)
        run.turns[key] = run.by_agent[agent] = span

    def _end_turn(self, run: _Run, key: tuple[str | None, str | None], ts: float) -> None:
        span = run.turns.pop(key, None)
        if span is not None:
            span.end(end_time=_ns(ts))
            if run.by_agent.get(key[1]) is span:
                del run.by_agent[key[1]]

    def _model_call(self, run: _Run, event: Event) -> None:
        d = event.data
        task, agent = d.get("task"), d.get("agent")
        parent = run.turns.get((task, agent)) or (run.tasks.get(task) if task else None)
        parent = parent or run.span
        model = str(d.get("model") or "")
        provider, _, name = model.partition("/") if "/" in model else ("", "", model)
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": provider or None,
            "gen_ai.provider.name": provider or None,
            "gen_ai.request.model": name,
            "gen_ai.agent.name": agent,
            "gen_ai.usage.input_tokens": int(d.get("prompt_tokens") or 0),
            "gen_ai.usage.output_tokens": int(d.get("completion_tokens") or 0),
            "crewyard.model": model,
            "crewyard.alias": d.get("alias"),
            "crewyard.task": task,
            "crewyard.cost_usd": float(d.get("cost_usd") or 0.0),
            "crewyard.cache_hit": bool(d.get("cached")),
            "crewyard.replayed": True if d.get("replayed") else None,
            "crewyard.cost_saved_usd": d.get("cost_saved") or None,
            "crewyard.attempt": int(d.get("attempt") or 1),
            "crewyard.fallback_from": d.get("fallback_from"),
        }
        start = event.ts - float(d.get("latency_ms") or 0.0) / 1000
        span = self._start(f"chat {name}", parent, start, attrs, kind=SpanKind.CLIENT)
        if d.get("error"):
            span.set_attribute("error.type", "model_error")
            span.set_status(Status(StatusCode.ERROR, str(d["error"])[:500]))
        span.end(end_time=_ns(event.ts))

    def _tool_call(self, run: _Run, event: Event) -> None:
        d = event.data
        agent, tool = d.get("agent"), str(d.get("tool"))
        parent = run.by_agent.get(agent) or run.span
        duration = float(d.get("duration_ms") or 0.0)
        attrs = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": tool,
            "gen_ai.agent.name": agent,
            "crewyard.tool.duration_ms": duration,
            "crewyard.tool.result_chars": d.get("result_chars"),
            "crewyard.tool.skipped": True if d.get("skipped") else None,
            "crewyard.tool.bad_args": True if d.get("bad_args") else None,
        }
        span = self._start(f"execute_tool {tool}", parent, event.ts - duration / 1000, attrs)
        if d.get("failed") or d.get("bad_args") or d.get("skipped"):
            span.set_attribute("error.type", "tool_error")
            span.set_status(Status(StatusCode.ERROR, str(d.get("result") or "")[:500]))
        span.end(end_time=_ns(event.ts))

    def _noted(self, run: _Run, event: Event) -> None:
        """A milestone (a guardrail's verdict, a delegation, a speaker chosen, a tool switched
        off, memory recalled …) as a span event on its task's span, or the run's: its
        structured fields only, never texts (outputs, requests, reasons may quote anything)."""
        d = event.data
        task = d.get("task")
        span = (run.tasks.get(task) if isinstance(task, str) else None) or run.span
        fields = {f"crewyard.{k}": v for k, v in d.items() if k in _NOTED_FIELDS}
        span.add_event(str(event.kind), _clean(fields), timestamp=_ns(event.ts))

    def _error(self, run: _Run, event: Event) -> None:
        message = str(event.data.get("message") or "")
        run.span.add_event("error", {"message": message[:2000]}, timestamp=_ns(event.ts))
        run.span.set_status(Status(StatusCode.ERROR, message[:500]))

    def _finished(self, run: _Run, event: Event) -> None:
        for key in list(run.turns):
            self._end_turn(run, key, event.ts)
        for span in run.tasks.values():  # a task the run never finished
            span.set_status(Status(StatusCode.ERROR, "the run stopped before the task ended"))
            span.end(end_time=_ns(event.ts))
        d = event.data
        status = str(d.get("status"))
        run.span.set_attributes(
            _clean({"crewyard.status": status, "crewyard.total_tokens": d.get("total_tokens")})
        )
        if status != "done":
            run.span.set_status(Status(StatusCode.ERROR, status))
        run.span.end(end_time=_ns(event.ts))


_FIELDS = "task agent attempt checks retries_left coworker speaker method tool items selected"
_FIELDS += " offered max_tools by file rounds server facts entities episodes short_term"
_NOTED_FIELDS = frozenset(_FIELDS.split())
_NOTED = (
    EventKind.GUARDRAIL_PASSED,
    EventKind.GUARDRAIL_FAILED,
    EventKind.DELEGATION,
    EventKind.DELEGATION_STOPPED,
    EventKind.SPEAKER_SELECTED,
    EventKind.TEAM_STOPPED,
    EventKind.TOOL_DISABLED,
    EventKind.TOOLS_SELECTED,
    EventKind.TOOLS_UNAVAILABLE,
    EventKind.MCP_SERVER_FAILED,
    EventKind.CODE_SAVED,
    EventKind.MEMORY_RECALLED,
    EventKind.MEMORY_STORED,
)
_HANDLERS = {
    **dict.fromkeys(_NOTED, SpanListener._noted),
    EventKind.TASK_STARTED: SpanListener._task_started,
    EventKind.TASK_KEPT: SpanListener._task_started,
    EventKind.TASK_FINISHED: SpanListener._task_finished,
    EventKind.AGENT_TURN: SpanListener._turn,
    EventKind.MODEL_CALL: SpanListener._model_call,
    EventKind.TOOL_CALL: SpanListener._tool_call,
    EventKind.ERROR: SpanListener._error,
    EventKind.RUN_FINISHED: SpanListener._finished,
}
