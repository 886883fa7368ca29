"""AutoGen core adapters (autogen_core only): the model client over the run's gateway, tools,
the sandboxed code executor, and shared memory through AutoGen's Memory protocol."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import shutil
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from typing import Any, Literal, cast

from autogen_core import CancellationToken, FunctionCall
from autogen_core.code_executor import CodeBlock, CodeExecutor, CodeResult
from autogen_core.memory import (
    Memory,
    MemoryContent,
    MemoryMimeType,
    MemoryQueryResult,
    UpdateContextResult,
)
from autogen_core.model_context import ChatCompletionContext
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
from autogen_core.tools import BaseTool, Tool, ToolSchema
from pydantic import BaseModel

from crewyard.context import RunContext
from crewyard.crews.options import CodingOptions
from crewyard.engines import autogen_steps
from crewyard.engines.codeblock import CodeShape, closed
from crewyard.errors import EngineError
from crewyard.gateway.records import Completion
from crewyard.runs.events import EventKind
from crewyard.tools import Tool as CrewyardTool
from crewyard.tools import formats, react
from crewyard.tools.sandbox import SandboxLimits, run_python

TESTS_PASSED = "ALL TESTS PASSED"


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


def _response_format(json_output: bool | type[BaseModel] | None) -> dict[str, Any] | None:
    if json_output is True:
        return {"type": "json_object"}
    if isinstance(json_output, type) and issubclass(json_output, BaseModel):
        return formats.json_schema(json_output.__name__, json_output.model_json_schema())
    return None


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "user"


class GatewayChatClient(ChatCompletionClient):
    """AutoGen's model client over the run's gateway (usage and cost go to the run); `steps`:
    tools as JSON steps (autogen_steps.py) for a model without native tool calls; `code`: a
    coder's reply shaped as one Python block (codeblock.py)."""

    def __init__(
        self,
        ctx: RunContext,
        alias: str,
        agent: str,
        task: Callable[[], str | None],
        code: CodeShape | None = None,
        steps: bool = False,
    ) -> None:
        self._code = code
        self._steps = steps
        self._step_count = 0
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
        call, stepped = self._request(messages, tools, json_output, extra_create_args)
        return await self._whole(call, stepped, tools)

    async def _whole(self, call: dict[str, Any], stepped: bool, tools: Any) -> CreateResult:
        send = self._ctx.gateway.acomplete
        if self._code is not None and not stepped:  # a coder's block, shaped
            return self._result(await self._code.complete(call, lambda c: send(**c)), False, tools)
        return self._result(await send(**call), stepped, tools)

    async def create_stream(  # type: ignore[override]
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Any = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        """The reply's text as it is generated, then create()'s CreateResult (a retry streams
        again from the start; a JSON step for tools, or a coder's block, is read whole)."""
        call, stepped = self._request(messages, tools, json_output, extra_create_args)
        if stepped or self._code is not None:
            yield await self._whole(call, stepped, tools)
            return
        async for item in self._ctx.gateway.astream(**call):
            if isinstance(item, Completion):  # the last item
                yield self._result(item, stepped, tools)
            elif item.text:
                yield item.text

    def _request(
        self,
        messages: Sequence[LLMMessage],
        tools: Sequence[Tool | ToolSchema],
        json_output: bool | type[BaseModel] | None,
        extra_create_args: Mapping[str, Any],
    ) -> tuple[dict[str, Any], bool]:
        """The gateway call AutoGen asks for, and whether it is a JSON step (a turn event)."""
        schemas = [t.schema if isinstance(t, Tool) else t for t in tools]
        openai_tools = [{"type": "function", "function": dict(s)} for s in schemas] or None
        fmt = _response_format(json_output)
        stepped = self._steps and autogen_steps.needs_step(messages, tools)
        if self._steps:
            messages = autogen_steps.as_steps(messages)
            openai_tools = None
            if stepped:
                messages = autogen_steps.with_instructions(messages, tools)
                # the embedded model decodes the step by grammar; others are asked in words
                structured = self._info.get("structured_output")
                fmt = react.response_format(autogen_steps.shapes(tools)) if structured else None
        task = self._task()
        self._ctx.events.emit(EventKind.AGENT_TURN, agent=self._agent, task=task)
        call = {
            "ref": self._ctx.model_for(task, self._alias),
            "messages": [m for msg in messages for m in _to_openai(msg)],
            "agent": self._agent,
            "task": task,
            "response_format": fmt,
            "tools": openai_tools,
            **{k: v for k, v in extra_create_args.items() if k in ("temperature", "max_tokens")},
        }
        return call, stepped

    def _result(
        self, reply: Completion, stepped: bool, tools: Sequence[Tool | ToolSchema]
    ) -> CreateResult:
        self._last = RequestUsage(reply.prompt_tokens, reply.completion_tokens)
        self._total = RequestUsage(
            self._total.prompt_tokens + reply.prompt_tokens,
            self._total.completion_tokens + reply.completion_tokens,
        )
        calls: list[FunctionCall] = []
        if stepped:
            self._step_count += 1
            said, step = autogen_steps.read_step(reply.text, self._step_count)
            calls = [step] if step is not None and tools else []
            reply = dataclasses.replace(reply, text=said or "")
        calls += [
            FunctionCall(
                id=c["id"], name=c["function"]["name"], arguments=c["function"]["arguments"]
            )
            for c in reply.tool_calls
        ]
        if calls:
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
        text = closed(reply.text) if self._code is not None else reply.text
        return CreateResult(finish_reason=finish, content=text, usage=self._last, cached=False)

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
        if self._steps:
            info["function_calling"] = True
        return info


class GatewayTool(BaseTool[BaseModel, BaseModel]):
    """A crewyard Tool as an AutoGen tool: the same argument model (so the same JSON schema),
    and every call goes through the run (events, failures, switching off)."""

    def __init__(self, ctx: RunContext, tool: CrewyardTool, agent: str) -> None:
        # tools answer text; AutoGen's own FunctionTool declares its returns the same loose way
        super().__init__(tool.args, cast(type[BaseModel], str), tool.name, tool.description)
        self._ctx = ctx
        self._tool = tool
        self._agent = agent

    async def run(self, args: BaseModel, cancellation_token: CancellationToken) -> Any:
        return await asyncio.to_thread(
            self._ctx.call_tool, self._tool, args.model_dump(), self._agent
        )


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
        # Each round's scratch goes once it has run: the engine saves the final code itself
        # (ctx.finish_task); keep_scratch keeps the rounds (what each wrote, up to the cap).
        keep = self._options.keep_scratch
        work = self._ctx.output_dir / "sandbox" / f"round-{self.rounds}"
        try:
            result = await asyncio.to_thread(run_python, program, work, limits, keep_files=keep)
        finally:
            if not keep:
                shutil.rmtree(work, ignore_errors=True)
                with contextlib.suppress(OSError):
                    work.parent.rmdir()  # only if no other round is left in it
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


class SharedMemory(Memory):
    """crewyard's memory through AutoGen's Memory protocol: before each reply it adds what the
    store recalls for the latest message; it never writes back by itself (agents save facts
    with the memory_save tool, and the dispatcher stores the run's episode)."""

    def __init__(self, ctx: RunContext, k: int = 3) -> None:
        self._ctx = ctx
        self._k = k

    async def update_context(self, model_context: ChatCompletionContext) -> UpdateContextResult:
        messages = await model_context.get_messages()
        last = next(
            (
                m
                for m in reversed(messages)
                if isinstance(m, UserMessage | AssistantMessage) and isinstance(m.content, str)
            ),
            None,
        )
        if last is None or self._ctx.memory is None:
            return UpdateContextResult(memories=MemoryQueryResult(results=[]))
        result = await self.query(str(last.content))
        if result.results:
            lines = "\n".join(f"- {r.content!s}" for r in result.results)
            await model_context.add_message(SystemMessage(content=f"Relevant memory:\n{lines}"))
        return UpdateContextResult(memories=result)

    async def query(
        self, query: str | MemoryContent, cancellation_token: Any = None, **kwargs: Any
    ) -> MemoryQueryResult:
        text = query if isinstance(query, str) else str(query.content)
        store = self._ctx.memory
        found = (
            await asyncio.to_thread(store.search, text, scopes=("facts", "entities"), k=self._k)
            if store is not None
            else []
        )
        return MemoryQueryResult(
            results=[
                MemoryContent(
                    content=" ".join(i.text.split())[:400],
                    mime_type=MemoryMimeType.TEXT,
                    metadata={"scope": i.scope, "id": i.id, "score": i.score},
                )
                for i in found
                if (i.score or 0) > 0.3
            ]
        )

    async def add(self, content: MemoryContent, cancellation_token: Any = None) -> None:
        if self._ctx.memory is not None:
            await asyncio.to_thread(
                self._ctx.memory.add_fact,
                str(content.content),
                crew=self._ctx.spec.name,
                run_id=self._ctx.run_id,
            )

    async def clear(self) -> None:
        raise EngineError("the shared memory is cleared with `python main.py memory reset`")

    async def close(self) -> None:
        return None
