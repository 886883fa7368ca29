"""RunContext: everything a run needs, passed in (no module-level singletons)."""

from __future__ import annotations

import time
from dataclasses import InitVar, asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from crewyard.crews.spec import CrewSpec
from crewyard.errors import CrewyardError
from crewyard.gateway.records import CallRecord
from crewyard.gateway.tapes import NO_TAPE, Tape
from crewyard.gateway.usage import Limits, UsageMeter
from crewyard.memory import Memory
from crewyard.runs.events import EventKind, EventSink
from crewyard.runs.files import finish_task
from crewyard.runs.result import TaskOutput
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from crewyard.tools import Tool
from crewyard.tools.refs import ref_names
from crewyard.tools.selection import TextEmbedder, select

MEMORY_TOOLS = ("memory_search", "memory_save")  # every agent's, when the crew has memory
RESULT_CAP = 500  # characters of a tool's answer a tool_call event keeps

if TYPE_CHECKING:
    from crewyard.gateway import Gateway, RunGateway
    from crewyard.human import RunHuman


@dataclass
class RunContext:
    """One run's models (the gateway bound to this run), store, events, memory, tools and
    output folder. Engines read everything they need from here."""

    run_id: str
    spec: CrewSpec
    inputs: dict[str, Any]
    settings: Settings
    store: RunStore
    events: EventSink
    output_dir: Path
    shared_gateway: InitVar[Gateway]  # bound to this run as `gateway`
    tape: InitVar[Tape] = NO_TAPE  # the run's cassette, when it records or replays
    # tools by name: registered ones the crew names, plus memory_search/memory_save
    tools: dict[str, Tool] = field(default_factory=dict)
    memory: Memory | None = None  # the shared memory, when the crew uses it
    # MCP tools (SERVER__TOOL, also in tools) → the agent whose `mcps:` gave it (None: all)
    mcp_owners: dict[str, str | None] = field(default_factory=dict)
    # what went wrong but did not stop the run (a tool switched off, a model fallen back)
    notes: list[str] = field(default_factory=list)
    tool_failures: dict[str, int] = field(default_factory=dict)
    disabled_tools: dict[str, str] = field(default_factory=dict)  # tool → why
    tool_failure_limit: int = 3
    # a resumed run's finished tasks (task → output): engines keep them instead of running them
    kept: dict[str, TaskOutput] = field(default_factory=dict)
    # what picks a task's tools when its agent has more than max_tools (default: the memory's
    # embedder, if the run has memory; else shared words)
    embedder: TextEmbedder | None = None
    human: RunHuman | None = None  # who answers the run's questions (None: nobody asks)
    gateway: RunGateway = field(init=False)
    _selected: dict[tuple[str, str | None], list[str]] = field(default_factory=dict, init=False)

    def __post_init__(self, shared_gateway: Gateway, tape: Tape) -> None:
        budget = self.spec.budget
        self.gateway = shared_gateway.for_run(
            limits=Limits(budget.max_tokens, budget.max_cost_usd),
            on_record=self.record_call,
            tape=tape,
            # streamed only when a listener reads the pieces (--stream, on_event + stream)
            on_chunk=self.events.chunk if self.events.streams else None,
        )

    @property
    def usage(self) -> UsageMeter:
        return self.gateway.usage

    def finish_task(
        self,
        task: str,
        agent: str | None,
        output: str,
        output_file: str | None = None,
        *,
        finished: bool = True,
    ) -> TaskOutput:
        """A task's output is final: checkpointed, written to its output_file (default: the
        task's own) and announced — the one path every engine takes. finished=False keeps
        the last attempt of a task that failed, as `<task> (unfinished)`."""
        declared = self.spec.tasks.get(task)
        template = output_file or (declared.output_file if declared else None)
        name = task if finished else f"{task} (unfinished)"
        return finish_task(
            self.events, self.output_dir, self.inputs, name, agent, output, template, finished
        )

    def kept_output(self, task: str) -> TaskOutput | None:
        """The output a resumed run keeps for task (recorded as this run's, through the
        finished-task path), or None when the task is to run."""
        old = self.kept.get(task)
        if old is None:
            return None
        self.events.emit(EventKind.TASK_KEPT, task=task, agent=old.agent)
        declared = self.spec.tasks.get(task)
        # the declared template is filled again; an engine's own name (coding's NAME.py) kept
        template = None if declared is not None and declared.output_file else old.output_file
        return self.finish_task(task, old.agent, old.output, template)

    def ask_human(
        self, place: str, prompt: str, context: str = "", agent: str | None = None
    ) -> str:
        """Ask the run's human (place: task:kind, the same when a resumed run asks again);
        raises WaitingForInput when nobody can answer now: the run is parked."""
        from crewyard.human import Question

        human = self.human
        if human is None:
            raise CrewyardError("this run was started without a way to ask a human")
        chosen = self.spec.human
        question = Question(
            key=human.key(place),
            prompt=prompt,
            context=context,
            task=place.split(":")[0] or None,
            agent=agent,
            default=chosen.default,
            timeout_s=chosen.timeout_s,
        )
        self.events.emit(
            EventKind.HUMAN_ASKED, key=question.key, task=question.task, agent=agent, prompt=prompt
        )
        answer = human.ask(question)
        self.events.emit(EventKind.HUMAN_ANSWERED, key=question.key, chars=len(answer))
        return answer

    def call_tool(self, spec: Tool, args: dict[str, Any], agent: str | None = None) -> str:
        """Run a tool for an agent. A failure comes back as text the agent reads; a tool
        that fails tool_failure_limit times in a row is switched off for the rest of the run,
        so the agent carries on without it, and the run notes it."""
        if spec.name in self.disabled_tools:
            refused = (
                f"error: tool {spec.name} is switched off for the rest of this run "
                f"({self.disabled_tools[spec.name]}); continue without it"
            )
            self.events.emit(
                EventKind.TOOL_CALL, tool=spec.name, agent=agent, args=args, skipped=True
            )
            return refused
        failed = False
        started = time.perf_counter()
        try:
            checked = spec.args.model_validate(args).model_dump(exclude_unset=True)
        except ValidationError as exc:  # the agent's mistake: told, not counted as a failure
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
            )
            fields = ", ".join(spec.args.model_fields) or "none"
            result = f"error: bad arguments for {spec.name}: {problems} (its arguments: {fields})"
            self._tool_event(spec, agent, args, result, started, bad_args=True)
            return result
        try:
            result = spec.call(**checked)
        except Exception as exc:  # the tool's own failure, not the agent's arguments
            failed = True
            result = f"error: {spec.name} failed: {type(exc).__name__}: {exc}"
        self._tool_event(spec, agent, args, result, started, failed=failed)
        count = self.tool_failures[spec.name] = self.tool_failures.get(spec.name, 0) + 1
        if not failed:
            self.tool_failures[spec.name] = 0
        elif count >= self.tool_failure_limit:
            why = f"failed {count} times in a row, last: {result.removeprefix('error: ')[:200]}"
            self.disabled_tools[spec.name] = why
            self.notes.append(f"tool {spec.name} switched off: {why}")
            self.events.emit(EventKind.TOOL_DISABLED, tool=spec.name, agent=agent, reason=why)
        return result

    def _tool_event(
        self,
        spec: Tool,
        agent: str | None,
        args: dict[str, Any],
        result: str,
        started: float,
        **flags: bool,
    ) -> None:
        self.events.emit(
            EventKind.TOOL_CALL,
            tool=spec.name,
            agent=agent,
            args=args,
            result=result[:RESULT_CAP],
            result_chars=len(result),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            **flags,
        )

    def tools_for(self, agent: str, task: str | None = None) -> list[Tool]:
        """The agent's tools (and the task's), the crew's MCP tools and its own, with the
        memory tools every agent gets. With more than the agent's max_tools, a task is offered
        the ones most like it (a tools_selected event says which)."""
        declared = self.spec.agents[agent]
        names = ref_names(declared.tools)
        if task is not None:
            names += [n for n in ref_names(self.spec.tasks[task].tools) if n not in names]
        names += [n for n, owner in self.mcp_owners.items() if owner in (None, agent)]
        names = list(dict.fromkeys(names))
        if len(names) > declared.max_tools:
            names = self._select(agent, task, names, declared.max_tools)
        names += [n for n in MEMORY_TOOLS if n in self.tools]
        return [self.tools[n] for n in dict.fromkeys(names)]

    def _select(self, agent: str, task: str | None, names: list[str], limit: int) -> list[str]:
        key = (agent, task)
        if key not in self._selected:
            spec = self.spec.tasks.get(task) if task else None
            text = f"{spec.description}\n{spec.expected_output}" if spec else ""
            text = text or f"{self.spec.agents[agent].role}: {self.spec.agents[agent].goal}"
            embedder = self.embedder or getattr(self.memory, "embedder", None)
            chosen, scores = select([self.tools[n] for n in names], text, limit, embedder)
            picked = [n for n in names if self.tools[n] in chosen]
            self._selected[key] = picked
            self.events.emit(
                EventKind.TOOLS_SELECTED,
                agent=agent,
                task=task,
                selected=picked,
                offered=len(names),
                max_tools=limit,
                by="embedding" if embedder is not None else "shared words",
                scores={n: round(s, 4) for n, s in zip(names, scores, strict=True)},
            )
        return list(self._selected[key])

    def model_for(self, task: str | None, agent_model: str) -> str:
        """The model a call uses: the task's own `model:` if it has one, else the agent's."""
        spec = self.spec.tasks.get(task) if task else None
        return spec.model if spec is not None and spec.model else agent_model

    def record_call(self, call: CallRecord) -> None:
        """Every model call attempt of the run (the gateway's view calls this), failed ones
        too: a row of the run store, an event, and a note when a fallback answered."""
        fields = asdict(call)
        self.store.model_call(self.run_id, **fields)
        self.events.emit(EventKind.MODEL_CALL, **fields)
        if call.error is None and call.fallback_from is not None:
            note = f"fell back from {call.fallback_from} → answered by {call.alias}"
            if note not in self.notes:
                self.notes.append(note)
