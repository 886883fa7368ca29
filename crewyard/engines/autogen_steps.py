"""Tool calls for AutoGen agents whose model has no native ones (the embedded model, scripted
models): each reply is asked for as one JSON step — a call of one tool, or the final answer —
under the step schema of react.py (the embedded model decodes it by grammar, so it always
parses), and read back as AutoGen's FunctionCall. The conversation's earlier calls and their
results are written back as the steps and observations the model saw, never as `tool`
messages such a model's chat template cannot read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import (
    AssistantMessage,
    FunctionExecutionResultMessage,
    LLMMessage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import Tool, ToolSchema

from crewyard.tools import react

TOOLS = """You can use these tools:
{tools}
Answer with one JSON object and nothing else. To use a tool:
{{"thought": "why", "action": "<tool name>", "action_input": {{<its arguments>}}}}
When you have the answer:
{{"thought": "why", "final_answer": "<your answer>"}}"""
# after the last tool call AutoGen asks once more, offering no tools: the answer, in words
ANSWER = """Using the tool results above, give your answer now, as one JSON object:
{"thought": "why", "final_answer": "<your answer, in plain words>"}"""


def shapes(tools: Sequence[Tool | ToolSchema]) -> list[tuple[str, dict[str, Any]]]:
    """(name, arguments JSON schema) of each tool offered."""
    out = []
    for tool in tools:
        schema = _schema(tool)
        params = dict(schema.get("parameters") or {"type": "object", "properties": {}})
        out.append((str(schema["name"]), params))
    return out


def _schema(tool: Tool | ToolSchema) -> dict[str, Any]:
    return dict(tool.schema if isinstance(tool, Tool) else tool)


def needs_step(messages: Sequence[LLMMessage], tools: Sequence[Tool | ToolSchema]) -> bool:
    """A reply is a step when tools are offered, or when earlier tool calls are answered
    (AutoGen's reflection: the answer is the step's final_answer, not a step in prose)."""
    return bool(tools) or any(isinstance(m, FunctionExecutionResultMessage) for m in messages)


def instructions(tools: Sequence[Tool | ToolSchema]) -> SystemMessage:
    if not tools:
        return SystemMessage(content=ANSWER)
    lines = []
    for tool in tools:
        schema = _schema(tool)
        props = (schema.get("parameters") or {}).get("properties") or {}
        args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in props.items())
        lines.append(f"- {schema['name']}({args}): {schema.get('description', '')}".strip())
    return SystemMessage(content=TOOLS.format(tools="\n".join(lines)))


def as_steps(messages: Sequence[LLMMessage]) -> list[LLMMessage]:
    """The conversation with tool calls as the JSON steps that asked for them and their
    results as observations (a user message naming the tool)."""
    out: list[LLMMessage] = []
    for message in messages:
        if isinstance(message, AssistantMessage) and not isinstance(message.content, str):
            text = "\n".join(
                json.dumps(
                    {
                        "thought": message.thought or "I use a tool.",
                        "action": call.name,
                        "action_input": _arguments(call.arguments),
                    }
                )
                for call in message.content
            )
            out.append(AssistantMessage(content=text, source=message.source))
        elif isinstance(message, FunctionExecutionResultMessage):
            text = "\n\n".join(
                f"{'Error from' if r.is_error else 'Result of'} tool {r.name}:\n{r.content}"
                for r in message.content
            )
            out.append(UserMessage(content=text, source="tools"))
        else:
            out.append(message)
    return out


def with_instructions(
    messages: list[LLMMessage], tools: Sequence[Tool | ToolSchema]
) -> list[LLMMessage]:
    """The step instructions right after the leading system messages."""
    lead = 0
    while lead < len(messages) and isinstance(messages[lead], SystemMessage):
        lead += 1
    return [*messages[:lead], instructions(tools), *messages[lead:]]


def read_step(reply: str, number: int) -> tuple[str | None, FunctionCall | None]:
    """(final text, None) or (thought, the call) for one reply; a reply that is no step is
    the final text as written. A call of a tool not offered is still a call: AutoGen answers
    it with an error the agent reads, as CrewAI does."""
    step = react.load_step(reply)
    if not isinstance(step, dict):
        return reply, None
    if react.FINAL in step:
        return str(step[react.FINAL]).strip(), None
    name = step.get("action")
    if not isinstance(name, str) or not name:
        return reply, None
    args = step.get("action_input")
    call = FunctionCall(
        id=f"step_{number}",
        name=name,
        arguments=json.dumps(args if isinstance(args, dict) else {}),
    )
    thought = step.get("thought")
    return (str(thought) if thought else None), call


def _arguments(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments
