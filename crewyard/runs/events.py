"""One event stream per run: to the run store, the logs and any listener (progress display).
A reply's streamed pieces (MODEL_CHUNK) go to the listeners that ask for them only: never to
the store or the logs, which keep the whole reply's MODEL_CALL."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crewyard.redact import logger
from crewyard.runs.store import RunStore


class EventKind(StrEnum):
    """Every kind of event a run records; stored and logged as its value."""

    RUN_STARTED = "run_started"
    TASK_STARTED = "task_started"
    TASK_FINISHED = "task_finished"
    TASK_KEPT = "task_kept"  # a resumed run keeps the output its earlier run finished
    AGENT_TURN = "agent_turn"
    MODEL_CALL = "model_call"
    MODEL_CHUNK = "model_chunk"  # a piece of a streamed reply: to listeners only, never stored
    TOOL_CALL = "tool_call"
    TOOL_DISABLED = "tool_disabled"  # a tool kept failing and was switched off for the run
    TOOLS_UNAVAILABLE = "tools_unavailable"  # the agent's model has no native tool calls
    MCP_SERVERS = "mcp_servers"  # the MCP servers started for the run and their tools
    MCP_SERVER_FAILED = "mcp_server_failed"  # an optional MCP server did not start
    TOOLS_SELECTED = "tools_selected"  # an agent with more than max_tools: a task's tools
    ERROR = "error"
    DELEGATION = "delegation"
    DELEGATION_STOPPED = "delegation_stopped"
    SPEAKER_SELECTED = "speaker_selected"
    TEAM_STOPPED = "team_stopped"  # an AutoGen team ended (its stop reason)
    CODE_SAVED = "code_saved"
    PLAN_MADE = "plan_made"  # plan_execute / rewoo: the planner's steps
    PLAN_REVISED = "plan_revised"  # plan_execute: the rest of the plan after a failed step
    STEP_FINISHED = "step_finished"  # plan_execute: one step's result, or why it failed
    EVIDENCE = "evidence"  # rewoo: one #En's tool, arguments (substituted) and result
    THOUGHTS_SCORED = "thoughts_scored"  # tree_of_thought: a level's candidates and scores
    GUARDRAIL_PASSED = "guardrail_passed"
    GUARDRAIL_FAILED = "guardrail_failed"
    HUMAN_ASKED = "human_asked"  # a question to a human (answered now, or parked)
    HUMAN_ANSWERED = "human_answered"
    MEMORY_RECALLED = "memory_recalled"
    MEMORY_STORED = "memory_stored"
    RUN_FINISHED = "run_finished"


@dataclass(frozen=True)
class Event:
    kind: EventKind
    run_id: str
    data: dict[str, Any]
    ts: float = field(default_factory=time.time)


Listener = Callable[[Event], None]


def wants_chunks(listener: Listener) -> bool:
    """A listener asks for MODEL_CHUNK events with an attribute `wants_chunks = True`."""
    return bool(getattr(listener, "wants_chunks", False))


class EventSink:
    """Fans each event out; a failing listener is logged, never breaks the run."""

    def __init__(
        self, run_id: str, crew: str, store: RunStore, listeners: list[Listener] | None = None
    ) -> None:
        self.run_id = run_id
        self.store = store
        self.listeners = list(listeners or [])
        self.log = logger.bind(run_id=run_id, crew=crew)
        self._lock = threading.Lock()
        self._seq = 0  # the run's events all come through this sink: it numbers them

    def emit(self, kind: EventKind, **data: Any) -> Event:
        event = Event(kind=kind, run_id=self.run_id, data=data)
        with self._lock:
            self.store.event(self.run_id, kind, data, seq=self._seq)
            self._seq += 1
            self.log.bind(event=kind, **_log_fields(data)).trace(_describe(event))
            for listener in self.listeners:
                try:
                    listener(event)
                except Exception as exc:  # a display problem must not stop a run
                    self.log.warning("event listener failed: {}", exc)
        return event

    @property
    def streams(self) -> bool:
        """Someone reads the replies as they stream: the run's calls are streamed."""
        return any(wants_chunks(listener) for listener in self.listeners)

    def chunk(self, chunk: Any) -> None:
        """A piece of a streamed reply (a gateway Chunk) to the listeners that ask for them,
        as a MODEL_CHUNK event: not stored, not logged, not numbered."""
        data = dataclasses.asdict(chunk)
        event = Event(kind=EventKind.MODEL_CHUNK, run_id=self.run_id, data=data)
        with self._lock:  # in order with the run's other events
            for listener in self.listeners:
                if not wants_chunks(listener):
                    continue
                try:
                    listener(event)
                except Exception as exc:
                    self.log.warning("event listener failed: {}", exc)


def _log_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ("task", "agent") if k in data}


def _describe(event: Event) -> str:
    d = event.data
    if event.kind is EventKind.MODEL_CALL:
        return (
            f"model call {d.get('alias')} ({d.get('model')}): {d.get('prompt_tokens')} in, "
            f"{d.get('completion_tokens')} out, {d.get('latency_ms', 0):.0f} ms"
        )
    if event.kind is EventKind.GUARDRAIL_FAILED:
        reasons = "; ".join(d.get("reasons") or [])
        return f"guardrail failed: {d.get('task')} attempt {d.get('attempt')}: {reasons}"
    if event.kind in (EventKind.TASK_STARTED, EventKind.TASK_FINISHED):
        return f"{event.kind.replace('_', ' ')}: {d.get('task')} ({d.get('agent')})"
    return f"{event.kind}: " + ", ".join(f"{k}={v}" for k, v in d.items() if k != "output")
