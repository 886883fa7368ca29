"""AutoGen adapter (the only autogen_* importer): debate and coding crews as AgentChat teams.

It only translates: every model call goes through the gateway (GatewayChatClient), turns and
task outputs go to the RunContext, code runs in crewyard.sandbox."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

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
from autogen_core import CancellationToken, FunctionCall
from autogen_core.code_executor import CodeBlock, CodeExecutor, CodeResult
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import FunctionTool, Tool, ToolSchema
from pydantic import BaseModel

from crews.options import CodingOptions, DebateOptions
from crewyard.context import RunContext
from crewyard.engines.asyncrun import run_coroutine
from crewyard.engines.prompts import agent_system_message, task_message
from crewyard.engines.speakers import SpeakerPicker
from crewyard.errors import EngineError
from crewyard.events import AGENT_TURN, TASK_FINISHED, TASK_STARTED, TOOL_CALL
from crewyard.files import write_atomic
from crewyard.result import TaskOutput
from crewyard.sandbox import SandboxLimits, run_python
from tools import ToolSpec

TESTS_PASSED = "ALL TESTS PASSED"
T = TypeVar("T")


def _to_openai(message: LLMMessage) -> list[dict[str, Any]]:
    if isinstance(message, SystemMessage):
        return [{"role": "system", "content": message.content}]
    if isinstance(message, UserMessage):
        content = message.content
        text = (
            content
            if isinstance(content, str)
            else "\n".join(c for c in content if isinstance(c, str))
        )
        return [{"role": "user", "content": text, "name": _safe_name(message.source)}]
    if isinstance(message, AssistantMessage):
        if isinstance(message.content, str):
            return [{"role": "assistant", "content": message.content}]
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.content
        ]
        return [{"role": "assistant", "content": None, "tool_calls": calls}]
    if isinstance(message, FunctionExecutionResultMessage):
        return [
            {"role": "tool", "tool_call_id": r.call_id, "content": r.content}
            for r in message.content
        ]
    raise EngineError(f"AutoGen message type {type(message).__name__} is not supported")


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "user"


class GatewayChatClient(ChatCompletionClient):
    """AutoGen's model client over crewyard's gateway: usage and cost go to the run."""

    def __init__(
        self,
        ctx: RunContext,
        alias: str,
        agent: str,
        task: Callable[[], str | None],
        close_fences: bool = False,
    ) -> None:
        self._close_fences = close_fences
        self.alias = alias
        self._ctx = ctx
        self._alias = alias
        self._agent = agent
        self._task = task
        self._info = ctx.gateway.model_info(alias)
        self._total = RequestUsage(prompt_tokens=0, completion_tokens=0)
        self._last = RequestUsage(prompt_tokens=0, completion_tokens=0)

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Any = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        schemas = [t.schema if isinstance(t, Tool) else t for t in tools]
        openai_tools = [{"type": "function", "function": dict(s)} for s in schemas] or None
        fmt: dict[str, Any] | None = None
        if json_output is True:
            fmt = {"type": "json_object"}
        elif isinstance(json_output, type) and issubclass(json_output, BaseModel):
            fmt = {
                "type": "json_schema",
                "json_schema": {
                    "name": json_output.__name__,
                    "schema": json_output.model_json_schema(),
                },
            }
        task = self._task()
        self._ctx.events.emit(AGENT_TURN, agent=self._agent, task=task)
        reply = await self._ctx.gateway.acomplete(
            self._alias,
            [m for msg in messages for m in _to_openai(msg)],
            agent=self._agent,
            task=task,
            on_call=self._ctx.record_call,
            response_format=fmt,
            tools=openai_tools,
            **{k: v for k, v in extra_create_args.items() if k in ("temperature", "max_tokens")},
        )
        self._last = RequestUsage(reply.prompt_tokens, reply.completion_tokens)
        self._total = RequestUsage(
            self._total.prompt_tokens + reply.prompt_tokens,
            self._total.completion_tokens + reply.completion_tokens,
        )
        if reply.tool_calls:
            calls = [
                FunctionCall(
                    id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"]
                )
                for c in reply.tool_calls
            ]
            return CreateResult(
                finish_reason="function_calls",
                content=calls,
                usage=self._last,
                cached=False,
                thought=reply.text or None,
            )
        finish: Literal["stop", "length"] = (
            "stop" if reply.finish_reason in (None, "stop") else "length"
        )
        text = reply.text
        if self._close_fences and text.count("```") % 2:  # small models forget the last fence
            text += "\n```"
        return CreateResult(finish_reason=finish, content=text, usage=self._last, cached=False)

    async def create_stream(  # type: ignore[override]
        self, messages: Sequence[LLMMessage], **kwargs: Any
    ) -> AsyncGenerator[str | CreateResult, None]:
        # The gateway answers whole replies: one chunk, then the result.
        result = await self.create(messages, **kwargs)
        yield str(result.content)
        yield result

    async def close(self) -> None:
        return None

    def actual_usage(self) -> RequestUsage:
        return self._last

    def total_usage(self) -> RequestUsage:
        return self._total

    def count_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return self._ctx.gateway.count_tokens(
            self._alias, [m for msg in messages for m in _to_openai(msg)]
        )

    def remaining_tokens(
        self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []
    ) -> int:
        return self._ctx.gateway.context_window(self._alias) - self.count_tokens(messages)

    @property
    def capabilities(self) -> Any:
        return self.model_info

    @property
    def model_info(self) -> ModelInfo:
        info: ModelInfo = ModelInfo(**self._info)  # type: ignore[typeddict-item]
        return info


class SandboxExecutor(CodeExecutor):
    """Runs the coder's Python blocks (plus the crew's tests) in crewyard.sandbox."""

    def __init__(self, ctx: RunContext, options: CodingOptions) -> None:
        self._ctx = ctx
        self._options = options
        self.rounds = 0
        self.last_code = ""
        self.passed = False

    async def execute_code_blocks(
        self, code_blocks: list[CodeBlock], cancellation_token: CancellationToken
    ) -> CodeResult:
        code = "\n\n".join(b.code for b in code_blocks if b.language.lower() in ("python", "py"))
        if not code:
            return CodeResult(
                exit_code=1,
                output="no ```python block found: send the whole program in one ```python block",
            )
        self.rounds += 1
        self.last_code = code
        program = code + (
            f"\n\n# --- tests ---\n{self._options.tests}\n" if self._options.tests else ""
        )
        limits = SandboxLimits(
            timeout_s=self._options.timeout_s,
            cpu_s=self._options.cpu_s,
            memory_mb=self._options.memory_mb,
            network=self._options.network,
        )
        work = self._ctx.output_dir / "sandbox" / f"round-{self.rounds}"
        result = await asyncio.to_thread(run_python, program, work, limits)
        self.passed = result.ok
        output = (result.stdout + result.stderr).strip()
        if result.killed_by:
            output += f"\n[stopped: {result.killed_by}]"
        if result.ok:
            output += f"\n{TESTS_PASSED}" if self._options.tests else "\nprogram exited 0"
        return CodeResult(
            exit_code=result.exit_code if result.exit_code is not None else -1,
            output=output or f"(no output, exit code {result.exit_code})",
        )

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def restart(self) -> None:
        return None


class _AutoGenRun:
    """Turns as events and checkpoints; tasks run one after another, outputs as context."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.task: str | None = None
        self.outputs: list[TaskOutput] = []

    def assistant(self, agent: str, extra: str = "", coder: bool = False) -> AssistantAgent:
        spec = self.ctx.spec.agents[agent]
        client = GatewayChatClient(
            self.ctx, self.ctx.spec.agent_model(agent), agent, lambda: self.task, coder
        )
        specs = self.ctx.tools_for(agent)
        tools: list[Any] = []
        if specs and client.model_info["function_calling"]:
            tools = [FunctionTool(self._traced(t), t.description, name=t.name) for t in specs]
        elif specs:  # AutoGen needs native tool calls; memory still reaches the system message
            self.ctx.events.emit(
                "tools_unavailable",
                agent=agent,
                tools=[t.name for t in specs],
                reason=f"model {client.alias} has no native tool calls",
            )
        return AssistantAgent(
            agent,
            client,
            tools=tools or None,
            reflect_on_tool_use=bool(tools),
            description=spec.role,
            system_message=agent_system_message(spec, self.ctx.inputs) + extra,
        )

    def _traced(self, spec: ToolSpec) -> Callable[..., str]:
        @functools.wraps(spec.fn)
        def run(**kwargs: Any) -> str:
            result = spec.call(**kwargs)
            self.ctx.events.emit(TOOL_CALL, tool=spec.name, args=kwargs, result=result[:500])
            return result

        return run

    async def team(self, team: BaseGroupChat, message: str) -> list[BaseChatMessage]:
        said: list[BaseChatMessage] = []
        async for item in team.run_stream(task=message, output_task_messages=False):
            if isinstance(item, BaseChatMessage):
                said.append(item)
                self.ctx.store.turn(self.ctx.run_id, self.task or "", item.source, item.to_text())
            elif isinstance(item, TaskResult):
                self.ctx.events.emit("team_stopped", task=self.task, reason=item.stop_reason)
        return said

    def finish_task(self, name: str, agent: str, output: str, file_name: str | None) -> None:
        if file_name:
            write_atomic(self.ctx.output_dir / file_name, output)
        self.ctx.store.checkpoint(self.ctx.run_id, name, agent, output, file_name)
        self.outputs.append(TaskOutput(name, agent, output, file_name))
        self.ctx.events.emit(
            TASK_FINISHED, task=name, agent=agent, chars=len(output), output_file=file_name
        )

    def message_for(self, name: str) -> str:
        context = [(o.task, o.output) for o in self.outputs]
        return task_message(self.ctx.spec.tasks[name], self.ctx.inputs, context)


async def _debate(ctx: RunContext) -> list[TaskOutput]:
    opts = DebateOptions.model_validate(ctx.spec.engine_options)
    names = list(ctx.spec.agents)
    judge = opts.judge or ("judge" if "judge" in names else names[-1])
    debaters = list(opts.debaters or [n for n in names if n != judge])
    if not debaters:
        raise EngineError("a debate needs at least one debater besides the judge")
    run = _AutoGenRun(ctx)
    for name in ctx.spec.tasks:
        run.task = name
        ctx.events.emit(TASK_STARTED, task=name, agent=", ".join(debaters))
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
        judge_agent = run.assistant(judge)
        reply = await judge_agent.run(task=verdict_prompt)
        verdict = reply.messages[-1].to_text() if reply.messages else ""
        ctx.store.turn(ctx.run_id, name, judge, verdict)
        run.finish_task(name, judge, verdict, ctx.spec.tasks[name].output_file)
    return run.outputs


async def _coding(ctx: RunContext) -> list[TaskOutput]:
    opts = CodingOptions.model_validate(ctx.spec.engine_options)
    coder = opts.coder or next(iter(ctx.spec.agents))
    run = _AutoGenRun(ctx)
    for name in ctx.spec.tasks:
        run.task = name
        ctx.events.emit(TASK_STARTED, task=name, agent=coder)
        executor = SandboxExecutor(ctx, opts)
        rules = (
            "\nWrite one complete Python program in a single ```python block. "
            "When the executor reports an error, send the whole corrected program again."
        )
        team = RoundRobinGroupChat(
            [
                run.assistant(coder, rules, coder=True),
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
        await run.team(team, run.message_for(name) + tests)
        file_name = ctx.spec.tasks[name].output_file or f"{name}.py"
        if executor.last_code:
            write_atomic(ctx.output_dir / file_name, executor.last_code)
        if not executor.passed:
            ctx.store.checkpoint(
                ctx.run_id,
                f"{name} (unfinished)",
                coder,
                executor.last_code,
                file_name if executor.last_code else None,
            )
            raise EngineError(
                f"task {name!r}: the code still fails after {executor.rounds} execution(s) "
                f"(limit {opts.max_rounds} rounds); the last version is in "
                f"{ctx.output_dir / file_name}"
                if executor.last_code
                else f"task {name!r}: the coder sent no runnable ```python block"
            )
        run.finish_task(name, coder, executor.last_code, file_name)
        ctx.store.event(ctx.run_id, "code_saved", {"file": file_name, "rounds": executor.rounds})
    return run.outputs


def _sandbox_approves(request: ApprovalRequest) -> ApprovalResponse:
    # Approval is the sandbox's job: limits, no network, no files beyond the work dir.
    return ApprovalResponse(approved=True, reason="runs in crewyard's sandbox")


def run_autogen(ctx: RunContext) -> list[TaskOutput]:
    """Run a debate or coding crew; returns the task outputs in order."""
    runner = {"debate": _debate, "coding": _coding}.get(ctx.spec.process)
    if runner is None:
        raise EngineError(f"AutoGen runs debate and coding crews, not {ctx.spec.process!r}")
    return run_coroutine(lambda: runner(ctx))
