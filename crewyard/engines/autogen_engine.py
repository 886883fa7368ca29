"""AutoGen adapter (the only autogen_* importer): debate and coding crews as AgentChat teams.

It only translates: every model call goes through the run's gateway (GatewayChatClient), turns
and finished tasks go to the RunContext, code runs in tools/sandbox.py (SandboxExecutor)."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from autogen_agentchat.agents import (
    ApprovalRequest,
    ApprovalResponse,
    AssistantAgent,
    CodeExecutorAgent,
)
from autogen_agentchat.base import ChatAgent, TaskResult, Team, TerminationCondition
from autogen_agentchat.conditions import (
    MaxMessageTermination,
    TextMentionTermination,
    TimeoutTermination,
)
from autogen_agentchat.messages import BaseChatMessage
from autogen_agentchat.teams import BaseGroupChat, RoundRobinGroupChat, SelectorGroupChat

from crewyard.context import MEMORY_TOOLS, RunContext
from crewyard.crews.inputs import fill
from crewyard.crews.options import CodingOptions, DebateOptions
from crewyard.engines.asyncrun import run_coroutine
from crewyard.engines.autogen_adapters import (
    TESTS_PASSED,
    GatewayChatClient,
    GatewayTool,
    SandboxExecutor,
    SharedMemory,
)
from crewyard.engines.codeblock import CodeShape
from crewyard.engines.prompts import agent_system_message, task_message
from crewyard.engines.speakers import SpeakerPicker
from crewyard.errors import EngineError
from crewyard.guardrails import Guard, Reason, feedback
from crewyard.runs.events import EventKind
from crewyard.runs.result import TaskOutput

VERDICT = "Give your verdict: which side is right, and your reasons."
APPROVE = "Approve this code? Enter or yes saves it; anything else is sent to the coder."
APPROVED = frozenset({"", "y", "yes", "ok", "approve", "approved", "lgtm"})
MAX_STEPS = 5  # tool calls in a row an agent answering in steps may make before it answers


class _AutoGenRun:
    """Turns as events and checkpoints; tasks run one after another, outputs as context."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.task: str | None = None
        self.outputs: list[TaskOutput] = []

    def assistant(
        self, agent: str, code: CodeShape | None = None, only: tuple[str, ...] = ()
    ) -> AssistantAgent:
        """The agent as an AssistantAgent with its tools (only: just those of them); code: a
        coder, its reply shaped as one Python block."""
        spec = self.ctx.spec.agents[agent]
        alias = self.ctx.spec.agent_model(agent)
        specs = self.ctx.tools_for(agent, self.task)
        if only:
            specs = [t for t in specs if t.name in only]
        native = self.ctx.gateway.model_info(alias)["function_calling"]
        # Without native tool calls, tools come as JSON steps — only for an agent with tools
        # of its own: memory also reaches every agent through AutoGen's Memory protocol, and
        # a step per turn would turn a small model's debate into JSON.
        steps = not native and any(t.name not in MEMORY_TOOLS for t in specs)
        client = GatewayChatClient(self.ctx, alias, agent, lambda: self.task, code, steps)
        tools: list[Any] = []
        if specs and (native or steps):
            tools = [GatewayTool(self.ctx, t, agent) for t in specs]
        elif specs:
            self.ctx.events.emit(
                EventKind.TOOLS_UNAVAILABLE,
                agent=agent,
                tools=[t.name for t in specs],
                reason=f"model {alias} has no native tool calls; memory reaches the agent "
                "through AutoGen's Memory protocol",
            )
        return AssistantAgent(
            agent,
            client,
            tools=tools or None,
            memory=[SharedMemory(self.ctx)] if self.ctx.memory is not None else None,
            reflect_on_tool_use=bool(tools),
            # a model that answers in steps may need several tool calls before its answer
            max_tool_iterations=min(spec.max_iter, MAX_STEPS) if steps else 1,
            description=spec.role,
            system_message=agent_system_message(spec) + (code.rules() if code else ""),
        )

    async def team(self, team: BaseGroupChat, message: str) -> list[BaseChatMessage]:
        said: list[BaseChatMessage] = []
        async for item in team.run_stream(task=message, output_task_messages=False):
            if isinstance(item, BaseChatMessage):
                said.append(item)
                # committed off the loop: the next speaker's model call is sent meanwhile
                # (a turn's fsync was ~8 ms of every turn); still one after another, in order
                await asyncio.to_thread(
                    self.ctx.store.turn,
                    self.ctx.run_id,
                    self.task or "",
                    item.source,
                    item.to_text(),
                )
            elif isinstance(item, TaskResult):
                self.ctx.events.emit(
                    EventKind.TEAM_STOPPED, task=self.task, reason=item.stop_reason
                )
        return said

    def message_for(self, name: str) -> str:
        context = [(o.task, o.output) for o in self.outputs]
        return task_message(self.ctx.spec.tasks[name], context)


async def _debate(ctx: RunContext) -> list[TaskOutput]:
    opts = DebateOptions.model_validate(ctx.spec.engine_options)
    names = list(ctx.spec.agents)
    judge = opts.judge or ("judge" if "judge" in names else names[-1])
    if opts.human == "judge":  # a person judges: every agent may debate
        judge = opts.judge or "judge"
    debaters = list(opts.debaters or [n for n in names if n != judge])
    if not debaters:
        raise EngineError("a debate needs at least one debater besides the judge")
    run = _AutoGenRun(ctx)
    for name in ctx.spec.tasks:
        if (done := ctx.kept_output(name)) is not None:  # resumed: finished before
            run.outputs.append(done)
            continue
        run.task = name
        ctx.events.emit(EventKind.TASK_STARTED, task=name, agent=", ".join(debaters))
        stop: TerminationCondition = MaxMessageTermination(1 + opts.rounds * len(debaters))
        stop = stop | TimeoutTermination(opts.timeout_s)
        speakers: list[ChatAgent | Team] = [run.assistant(d) for d in debaters]
        team: BaseGroupChat
        if opts.turn_order == "selector":
            picker = SpeakerPicker(ctx, debaters, lambda: run.task)
            chooser = GatewayChatClient(ctx, picker.alias, "speaker_selector", lambda: run.task)
            team = SelectorGroupChat(
                speakers, chooser, selector_func=picker.pick, termination_condition=stop
            )
        else:
            team = RoundRobinGroupChat(speakers, termination_condition=stop)
        question = run.message_for(name)
        said = await run.team(team, question)
        transcript = "\n\n".join(f"{m.source}: {m.to_text()}" for m in said)
        verdict_prompt = (
            f"{question}\n\nThe debate so far:\n\n{transcript}\n\n"
            "Give your verdict: which side is right, and your reasons."
        )
        if opts.human == "judge":
            verdict = await asyncio.to_thread(
                ctx.ask_human, f"{name}:verdict", VERDICT, f"{question}\n\n{transcript}", judge
            )
            ctx.store.turn(ctx.run_id, name, judge, verdict)
            run.outputs.append(ctx.finish_task(name, judge, verdict))
            continue
        judge_agent = run.assistant(judge)
        guard, prompt = Guard.of(name, ctx), verdict_prompt
        while True:  # the judge keeps its history: a retry reads its verdict and the reasons
            reply = await judge_agent.run(task=prompt)
            verdict = reply.messages[-1].to_text() if reply.messages else ""
            ctx.store.turn(ctx.run_id, name, judge, verdict)
            if not (reasons := await _review(guard, verdict)):
                break
            prompt = feedback(reasons)
        run.outputs.append(ctx.finish_task(name, judge, verdict))
    return run.outputs


async def _coding(ctx: RunContext) -> list[TaskOutput]:
    opts = CodingOptions.model_validate(ctx.spec.engine_options)
    if opts.tests:  # the tests may name the run's inputs: `tests: "{examples}"`
        opts = opts.model_copy(update={"tests": fill(opts.tests, ctx.inputs)})
    coder = opts.coder or next(iter(ctx.spec.agents))
    run = _AutoGenRun(ctx)
    for name in ctx.spec.tasks:
        if (done := ctx.kept_output(name)) is not None:  # resumed: finished before
            run.outputs.append(done)
            continue
        run.task = name
        ctx.events.emit(EventKind.TASK_STARTED, task=name, agent=coder)
        executor = SandboxExecutor(ctx, opts)
        team = RoundRobinGroupChat(
            [
                run.assistant(coder, CodeShape(ctx, opts.tests)),
                CodeExecutorAgent(
                    "executor", executor, sources=[coder], approval_func=_sandbox_approves
                ),
            ],
            termination_condition=TextMentionTermination(TESTS_PASSED, sources=["executor"])
            | MaxMessageTermination(1 + 2 * opts.max_rounds)
            | TimeoutTermination(opts.timeout_s * opts.max_rounds * 3),
        )
        tests = (
            f"\n\nThe program must pass these tests:\n```python\n{opts.tests}\n```"
            if (opts.tests)
            else ""
        )
        file_name = ctx.spec.tasks[name].output_file or f"{name}.py"
        guard, message = Guard.of(name, ctx), run.message_for(name) + tests
        try:
            while True:  # the team keeps its history: a retry reads the reasons after its code
                await run.team(team, message)
                if executor.passed and (reasons := await _review(guard, executor.last_code)):
                    message, executor.passed = feedback(reasons), False
                elif executor.passed and (change := await _approval(ctx, opts, name, executor)):
                    message, executor.passed = f"A reviewer asks for a change: {change}", False
                else:
                    break
            if not executor.passed:
                raise EngineError(
                    f"task {name!r}: the code still fails after {executor.rounds} execution(s) "
                    f"(limit {opts.max_rounds} rounds); the last version is kept in "
                    f"{ctx.output_dir / fill(file_name, ctx.inputs)}"
                    if executor.last_code
                    else f"task {name!r}: the coder sent no runnable ```python block"
                )
        except BaseException:  # guardrails spent, budget, Ctrl-C: the last code is kept
            if executor.last_code:
                ctx.finish_task(name, coder, executor.last_code, file_name, finished=False)
            raise
        done = ctx.finish_task(name, coder, executor.last_code, file_name)
        run.outputs.append(done)
        ctx.events.emit(
            EventKind.CODE_SAVED, task=name, file=done.output_file, rounds=executor.rounds
        )
    return run.outputs


async def _approval(
    ctx: RunContext, opts: CodingOptions, task: str, executor: SandboxExecutor
) -> str | None:
    """With `human: approve`, the change a person asks for before the code is saved (None:
    approved, or nobody is to approve)."""
    if opts.human != "approve":
        return None
    code = executor.last_code
    answer = await asyncio.to_thread(ctx.ask_human, f"{task}:approve", APPROVE, code, opts.coder)
    return None if answer.strip().lower().rstrip(".!") in APPROVED else answer.strip()


async def _review(guard: Guard | None, output: str) -> list[Reason]:
    """The guard's reasons; in a thread, as an LLM judge makes a blocking gateway call."""
    return await asyncio.to_thread(guard.review, output) if guard else []


def _sandbox_approves(request: ApprovalRequest) -> ApprovalResponse:
    # Approval is the sandbox's job: limits, no network, no files beyond the work dir.
    return ApprovalResponse(approved=True, reason="runs in crewyard's sandbox")


def run_autogen(ctx: RunContext) -> list[TaskOutput]:
    """Run a debate or coding crew; returns the task outputs in order."""
    runner = {"debate": _debate, "coding": _coding}.get(ctx.spec.process)
    if runner is None:
        raise EngineError(f"AutoGen runs debate and coding crews, not {ctx.spec.process!r}")
    with _logs_to_the_run(ctx):
        return run_coroutine(lambda: runner(ctx))


class _ToRunLog(logging.Handler):
    """AutoGen's own log records (an agent's error with its traceback, for one) go to the
    run's log file, not to the console: the run reports the failure once, in a line."""

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(logging.DEBUG)
        self.log = ctx.events.log

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.log.trace("{}: {}", record.name, text)


@contextmanager
def _logs_to_the_run(ctx: RunContext) -> Iterator[None]:
    handler = _ToRunLog(ctx)
    loggers = [logging.getLogger(name) for name in ("autogen_core", "autogen_agentchat")]
    saved = [(lg, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
    try:
        yield
    finally:
        for lg, propagate in saved:
            lg.removeHandler(handler)
            lg.propagate = propagate
