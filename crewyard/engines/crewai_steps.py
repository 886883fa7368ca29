"""The embedded model's CrewAI steps: for a local/… model, an agent step with tools is asked
for under a JSON step schema (tools/react.py) that the local provider decodes by grammar, so
it always parses. Reads CrewAI's task and agent objects by attribute only (no import)."""

from __future__ import annotations

from typing import Any

from crewyard.context import RunContext
from crewyard.engines.delegation import DelegationGuard
from crewyard.tools import react


def step_format(
    ctx: RunContext,
    model: str,
    task: Any,
    agent: Any,
    messages: list[dict[str, Any]],
    manages: bool,
) -> dict[str, Any] | None:
    """The response_format of the step, or None (no tools, or not the embedded model).
    A manager's first step on a task delegates (a small model asked to manage otherwise
    answers everything itself), and each delegation names a coworker that exists and was
    not asked yet on this task (else it asks one coworker in a loop); once every coworker
    was asked, its step is the final answer."""
    tools = list(getattr(task, "tools", None) or [])
    if manages:  # CrewAI gave the manager its delegation tools
        tools = list(getattr(agent, "tools", None) or [])
    tools = tools or list(getattr(getattr(task, "agent", None), "tools", None) or [])
    if not tools or not is_local(ctx, model):
        return None
    # CrewAI keeps each step taken (with its observation) as an assistant message
    taken = [str(m.get("content") or "") for m in messages if m.get("role") == "assistant"]
    if not manages:
        shapes = [(str(t.name), t.args_schema.model_json_schema()) for t in tools]
        return react.response_format(shapes)
    asked = {found[0] for step in taken if (found := DelegationGuard.parse(step))}
    shapes = [(str(t.name), schema) for t in tools if (schema := _coworkers(t, asked))]
    return react.response_format(shapes, final=bool(taken) or not shapes)


def _coworkers(tool: Any, asked: set[str]) -> dict[str, Any] | None:
    """A delegation tool's arguments schema whose coworker is one of its agents' roles (as
    CrewAI matches them) not yet asked on this task; None when every one was."""
    schema: dict[str, Any] = tool.args_schema.model_json_schema()
    roles = [str(a.role).strip() for a in getattr(tool, "agents", None) or []]
    if "coworker" not in schema.get("properties", {}) or not roles:
        return schema
    left = [r for r in roles if r.casefold() not in asked]
    if not left:
        return None
    coworker = {**schema["properties"]["coworker"], "enum": left}
    return {**schema, "properties": {**schema["properties"], "coworker": coworker}}


def is_local(ctx: RunContext, ref: str) -> bool:
    """ref is served by the embedded llama.cpp provider (JSON schemas decoded by grammar)."""
    try:
        info = ctx.gateway.model_info(ref)
        _, cfg = ctx.gateway.gateway.table.resolve(ref)
    except Exception:  # auto, or a model the gateway cannot describe: no grammar
        return False
    return bool(info.get("structured_output")) and str(cfg.model).startswith("local/")
