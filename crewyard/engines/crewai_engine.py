"""CrewAI adapter (the only crewai importer): CrewSpec + RunContext → Crew → task outputs.

It only translates: models come from the run's gateway through GatewayLLM, finished tasks go
through RunContext.finish_task, and CrewAI's own telemetry, tracing and memory stay off."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from crewyard.context import RunContext
from crewyard.crews.hooks import output_model
from crewyard.crews.options import HierarchicalOptions
from crewyard.engines.asyncrun import off_the_loop
from crewyard.engines.crewai_steps import step_format
from crewyard.engines.delegation import DelegationGuard, DelegationStopped
from crewyard.engines.prompts import context_block
from crewyard.environ import while_importing
from crewyard.guardrails import Guard, feedback
from crewyard.runs.events import EventKind
from crewyard.runs.result import TaskOutput
from crewyard.settings import usable_folder
from crewyard.tasks.spec import TaskSpec
from crewyard.tools import Tool, react
from crewyard.tools.refs import ref_names

# CrewAI reads these while it is imported (its telemetry is built then, and stays off for the
# process); the caller's environment is left as it was.
with while_importing(
    {
        "CREWAI_DISABLE_TELEMETRY": "true",
        "CREWAI_DISABLE_TRACKING": "true",
        "OTEL_SDK_DISABLED": "true",
        "CREWAI_TRACING_ENABLED": "false",
        "CREWAI_DISABLE_VERSION_CHECK": "true",
    }
):
    from crewai import Agent, BaseLLM, Crew, Process, Task
    from crewai.tasks.task_output import TaskOutput as CrewAITaskOutput
    from crewai.tools import BaseTool
    from crewai.utilities import task_output_storage_handler as kickoff_outputs
    from crewai_core.telemetry import Telemetry

    Telemetry()  # the process-wide instance, made while telemetry is off: it never sends

# CrewAI keeps every crew's task outputs in one SQLite file under the home folder (for its own
# `crewai replay`), mixing projects. A crew crewyard runs keeps it in the run's data folder;
# CrewAI used outside a crewyard run is left as it was.
_KICKOFF_DB: ContextVar[Path | None] = ContextVar("crewyard_kickoff_outputs", default=None)
_crewai_kickoff_storage = kickoff_outputs.KickoffTaskOutputsSQLiteStorage  # type: ignore[attr-defined]


def _kickoff_storage(db_path: str | None = None) -> Any:
    in_run = _KICKOFF_DB.get()
    if db_path is None and in_run is not None:
        db_path = str(in_run)
    return _crewai_kickoff_storage(db_path)


kickoff_outputs.KickoffTaskOutputsSQLiteStorage = _kickoff_storage  # type: ignore[attr-defined,assignment]

AGENT_KEYS = (
    "role",
    "goal",
    "backstory",
    "max_iter",
    "max_rpm",
    "max_execution_time",
    "max_retry_limit",
    "verbose",
    "allow_delegation",
    "cache",
    "respect_context_window",
    "allow_code_execution",
    "code_execution_mode",
    "system_template",
    "prompt_template",
    "response_template",
    "use_system_prompt",
    "inject_date",
    "date_format",
    "reasoning",
    "max_reasoning_attempts",
)
TASK_KEYS = ("description", "expected_output", "async_execution", "human_input", "markdown")

# Task callbacks are bound methods of the run; CrewAI's checkpointing (which we do not use)
# would like module-level functions and warns on every task.
warnings.filterwarnings("ignore", message="method callbacks cannot be serialized")
# CrewAI's flow runtime logs every exception an LLM call raises (budget stops, model errors,
# replay mismatches) before re-raising it; crewyard reports each once, with what and where.
logging.getLogger("crewai.flow.runtime").setLevel(logging.CRITICAL)


class GatewayLLM(BaseLLM):
    """CrewAI's LLM interface over crewyard's gateway, so CrewAI never picks a provider."""

    llm_type: str = "crewyard"
    _ctx: RunContext = PrivateAttr()
    _run: _CrewRun = PrivateAttr()
    _guard: DelegationGuard | None = PrivateAttr(default=None)

    def bind(
        self, ctx: RunContext, run: _CrewRun, guard: DelegationGuard | None = None
    ) -> GatewayLLM:
        self._ctx = ctx
        self._run = run
        self._guard = guard
        return self

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> str:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        task = self._run.task_name(from_task)
        agent = self._run.agent_name(from_agent)
        self._run.turn(task, agent)
        if self._guard is not None:
            self._guard.refuse_if_stopped()
        model = self._ctx.model_for(task, self.model)
        manages = self._guard is not None
        step = (
            None
            if response_model
            else step_format(self._ctx, model, from_task, from_agent, messages, manages)
        )
        stepped: dict[str, Any] = {"response_format": step} if step else {}
        completion = self._ctx.gateway.complete(
            model,
            [{"role": m["role"], "content": m.get("content") or ""} for m in messages],
            stop=self.stop_sequences or None,
            temperature=self.temperature,
            agent=agent,
            task=task,
            **stepped,
        )
        if step:  # the JSON step, as the text CrewAI parses
            completion = dataclasses.replace(completion, text=react.as_text(completion.text))
        if self._guard is not None:
            try:
                delegated = self._guard.check(completion.text)
            except DelegationStopped as stop:
                self._ctx.events.emit(
                    EventKind.DELEGATION_STOPPED, agent=agent, task=task, reason=str(stop)
                )
                raise
            if delegated:
                self._ctx.events.emit(
                    EventKind.DELEGATION,
                    agent=agent,
                    task=task,
                    coworker=delegated[0],
                    request=delegated[1],
                )
        return completion.text

    def supports_function_calling(self) -> bool:
        # Tools go through CrewAI's text protocol, which every model (SmolLM2 too) can follow.
        return False

    def get_input_tokens_count(
        self, messages: Any, tools: Any = None, response_model: Any = None
    ) -> int:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        # CrewAI asks before every call whether the prompt outgrows the window. A token is at
        # least one character, so a prompt of fewer characters than half the window cannot:
        # then an estimate does, and the tokenizer's CPU is paid only near the limit.
        chars = sum(len(str(m.get("content") or "")) for m in messages)
        if chars * 2 < self.get_context_window_size():
            return max(1, chars // 4)
        return self._ctx.gateway.count_tokens(self.model, messages)

    def get_context_window_size(self) -> int:
        return self._ctx.gateway.context_window(self.model)


class GatewayTool(BaseTool):
    """A crewyard Tool as a CrewAI tool; each call goes through the run (events, failures)."""

    _spec: Tool = PrivateAttr()
    _ctx: RunContext = PrivateAttr()
    _agent: str | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, spec: Tool, ctx: RunContext, agent: str | None = None) -> GatewayTool:
        made = cls(name=spec.name, description=spec.description, args_schema=spec.args)
        made._spec = spec
        made._ctx = ctx
        made._agent = agent
        return made

    def _run(self, **kwargs: Any) -> str:
        return self._ctx.call_tool(self._spec, kwargs, self._agent)


def crewai_tool(spec: Tool, ctx: RunContext, agent: str | None = None) -> BaseTool:
    """What CrewAI is given for a Tool: a crewai-tools tool itself (a copy per agent whose
    calls go through the run), any other Tool as a GatewayTool."""
    native = getattr(spec, "native", None)
    if not isinstance(native, BaseTool):
        return GatewayTool.of(spec, ctx, agent)
    own = native.model_copy()

    def recorded(*args: Any, **kwargs: Any) -> str:
        return ctx.call_tool(spec, kwargs, agent)

    object.__setattr__(own, "_run", recorded)  # CrewAI calls the tool's _run
    return own


class _CrewRun:
    """Names, events and checkpoints of one CrewAI run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.agent_names: dict[int, str] = {}
        self.started: set[str] = set()
        self.outputs: list[TaskOutput] = []

    def task_name(self, task: Any) -> str | None:
        return str(task.name) if task is not None and task.name else None

    def agent_name(self, agent: Any) -> str | None:
        if agent is None:
            return None
        return self.agent_names.get(id(agent), str(getattr(agent, "role", "agent")))

    def turn(self, task: str | None, agent: str | None) -> None:
        if task and task not in self.started:
            self.started.add(task)
            self.ctx.events.emit(EventKind.TASK_STARTED, task=task, agent=agent)
        self.ctx.events.emit(EventKind.AGENT_TURN, task=task, agent=agent)

    def guardrail(self, guard: Guard, spec: TaskSpec) -> Callable[[CrewAITaskOutput], Any]:
        """CrewAI's guardrail callable. On (False, text) CrewAI runs the agent again with text
        as its whole context, which drops the earlier outputs the task reads: they go back in.
        When no retry is left, guard.review raises and the run fails with every attempt."""

        def verdict(output: CrewAITaskOutput) -> tuple[bool, Any]:
            reasons = guard.review(output.raw)
            if not reasons:
                return True, output.raw
            earlier = context_block(spec, [(o.task, o.output) for o in self.outputs])
            return False, feedback(reasons) + (f"\n\n{earlier}" if earlier else "")

        # a lambda: CrewAI rejects guardrails whose (string) return annotation it cannot read
        return lambda output: verdict(output)

    def task_done(self, output: CrewAITaskOutput) -> None:
        """Record the output (checkpoint, output_file, event) before the next task starts."""
        name = output.name or f"task_{len(self.outputs) + 1}"
        spec = self.ctx.spec.tasks.get(name)
        agent = spec.agent if spec else output.agent
        self.outputs.append(self.ctx.finish_task(name, agent, output.raw))


def run_crewai(ctx: RunContext) -> list[TaskOutput]:
    """Run a sequential or hierarchical crew; returns the task outputs in order."""
    folder = usable_folder(ctx.settings.data_dir / "crewai", "CrewAI's task outputs folder")

    # imported here: CrewAI itself is imported above, with its telemetry off
    from crewyard.engines.crewai_human import asking_the_run_human

    def in_this_thread() -> list[TaskOutput]:
        token = _KICKOFF_DB.set(folder / f"{ctx.run_id}.db")
        try:
            with asking_the_run_human(ctx):
                return _run(ctx)
        finally:
            _KICKOFF_DB.reset(token)

    # CrewAI refuses to run synchronously inside an event loop (a notebook cell's)
    return off_the_loop(in_this_thread)


def _task_tools(ctx: RunContext, task: str, agent: str | None) -> list[BaseTool] | None:
    """A task's own tools, or (its agent having more than max_tools) the agent's tools
    chosen for it; None: the agent's."""
    declared = ctx.spec.tasks[task].tools
    if agent is None or agent not in ctx.spec.agents:
        names = ref_names(declared)
        return [crewai_tool(ctx.tools[n], ctx, agent) for n in names] or None
    spec = ctx.spec.agents[agent]
    if not declared and len(spec.tools) <= spec.max_tools:
        return None
    return [crewai_tool(t, ctx, agent) for t in ctx.tools_for(agent, task)] or None


def _run(ctx: RunContext) -> list[TaskOutput]:
    spec = ctx.spec
    run = _CrewRun(ctx)
    hierarchical = spec.process == "hierarchical"
    options = HierarchicalOptions.model_validate(spec.engine_options) if hierarchical else None
    guard = DelegationGuard(options.max_delegations, options.max_repeats) if options else None
    agents: dict[str, Agent] = {}
    for name, agent_spec in spec.agents.items():
        fields = {
            k: getattr(agent_spec, k) for k in AGENT_KEYS if getattr(agent_spec, k) is not None
        }
        is_manager = options is not None and options.manager_agent == name
        llm = GatewayLLM(model=spec.agent_model(name)).bind(ctx, run, guard if is_manager else None)
        # CrewAI gives a manager its delegation tools and refuses any other
        tools = [] if is_manager else [crewai_tool(t, ctx, name) for t in ctx.tools_for(name)]
        agents[name] = Agent(**fields, llm=llm, tools=tools, memory=False)
        run.agent_names[id(agents[name])] = name
    manager: dict[str, Any] = {}
    if options is not None and options.manager_agent:
        manager["manager_agent"] = agents.pop(options.manager_agent)
    elif options is not None:
        llm = GatewayLLM(model=spec.models.manager or "smart").bind(ctx, run, guard)
        manager["manager_llm"] = llm
    tasks: dict[str, Task] = {}
    kept: list[Task] = []  # a resumed run's finished tasks: not run, their outputs are context
    for name, task_spec in spec.tasks.items():
        agent_name = task_spec.agent or (None if hierarchical else next(iter(spec.agents)))
        extra: dict[str, Any] = {}
        if task_spec.context is not None:  # unset: CrewAI passes every earlier output
            extra["context"] = [tasks[c] for c in task_spec.context]
        elif kept:  # ... of the tasks it ran, so the kept ones are named
            extra["context"] = list(tasks.values())
        for key in ("output_pydantic", "output_json"):  # a model class in the crew's hooks.py
            if (model_name := getattr(task_spec, key)) is not None:
                extra[key] = output_model(spec.directory, model_name)
        if checks := Guard.of(name, ctx):
            extra["guardrail"] = run.guardrail(checks, task_spec)
            extra["guardrail_max_retries"] = checks.max_retries
        tasks[name] = Task(
            name=name,
            agent=agents[agent_name] if agent_name else None,
            callback=run.task_done,
            tools=_task_tools(ctx, name, agent_name),
            **{k: getattr(task_spec, k) for k in TASK_KEYS},
            **extra,
        )
        if (done := ctx.kept_output(name)) is not None:
            tasks[name].output = CrewAITaskOutput(
                name=name, description=task_spec.description, raw=done.output, agent=""
            )
            kept.append(tasks[name])
            run.outputs.append(done)
    max_rpm = spec.engine_options.get("max_rpm")
    to_run = [t for t in tasks.values() if t not in kept]
    if not to_run:
        return run.outputs
    crew = Crew(
        name=spec.name,
        agents=list(agents.values()),
        tasks=to_run,
        process=Process.hierarchical if hierarchical else Process.sequential,
        **manager,
        **({"max_rpm": max_rpm} if max_rpm else {}),
        verbose=spec.verbose,
        memory=False,
        tracing=False,
    )
    # no inputs: the spec's templates are filled already, and CrewAI would read any braces
    # in recalled memory or in an input's value as placeholders of its own
    crew.kickoff()
    return run.outputs
