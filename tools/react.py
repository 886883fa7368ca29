"""CrewAI's text tool protocol (Thought / Action / Action Input, or Final Answer) for models
that cannot be trusted to write it: the step is asked for as JSON under a schema (the local
provider decodes it by grammar, so it always parses), then written back as the text CrewAI
reads. Pure translation: no engine is imported here."""

from __future__ import annotations

import json
from typing import Any

from crewyard.tools.formats import json_schema

FINAL = "final_answer"


def step_schema(tools: list[tuple[str, dict[str, Any]]], final: bool = True) -> dict[str, Any]:
    """The JSON schema of one step: a call of one of tools (name, its arguments' JSON
    schema) with arguments of that tool's shape, or (final) the final answer."""
    thought = {"type": "string", "maxLength": 120}
    options: list[dict[str, Any]] = [
        {
            "type": "object",
            "properties": {
                "thought": thought,
                "action": {"type": "string", "enum": [name]},
                "action_input": args_schema(schema),
            },
            "required": ["thought", "action", "action_input"],
            "additionalProperties": False,
        }
        for name, schema in tools
    ]
    if final or not options:
        options.append(
            {
                "type": "object",
                "properties": {"thought": thought, FINAL: {"type": "string"}},
                "required": ["thought", FINAL],
                "additionalProperties": False,
            }
        )
    return {"anyOf": options} if len(options) > 1 else options[0]


def args_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An arguments schema with what grammars need: object type, only the properties (titles
    and defaults dropped), the required ones required."""
    props = {
        key: {k: v for k, v in value.items() if k not in ("title", "default", "examples")}
        for key, value in (schema.get("properties") or {}).items()
    }
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    out["required"] = list(schema.get("required") or [])
    if "$defs" in schema:
        out["$defs"] = schema["$defs"]
    return out


def response_format(tools: list[tuple[str, dict[str, Any]]], final: bool = True) -> dict[str, Any]:
    """OpenAI's response_format for one step (the gateway passes it to the provider)."""
    return json_schema("react_step", step_schema(tools, final))


# what closes a step cut off by max_tokens (the grammar kept it valid up to there)
_CLOSINGS = ("", '"}', "}", '"}}', "}}", '"}}}', "}}}")


def _load(reply: str) -> Any:
    for cut in range(8):  # a cut may fall inside an escape (\n, \u00e9)
        for closing in _CLOSINGS:
            try:
                # strict=False: a raw newline inside a string is the model's, not an error
                return json.loads(reply[: len(reply) - cut] + closing, strict=False)
            except (json.JSONDecodeError, TypeError):
                continue
    return None


def load_step(reply: str) -> Any:
    """The JSON step a reply holds (one cut off by max_tokens closed first), or None."""
    return _load(reply.strip()) if reply.strip().startswith("{") else None


def as_text(reply: str) -> str:
    """A JSON step written as CrewAI's text protocol (one cut off by max_tokens closed
    first); any other reply as it is."""
    step = load_step(reply)
    if not isinstance(step, dict):
        return reply
    thought = str(step.get("thought") or "").replace("\n", " ").strip() or "I act."
    if FINAL in step:
        return f"Thought: {thought}\nFinal Answer: {str(step[FINAL]).strip()}"
    if "action" in step:
        args = step.get("action_input")
        return (
            f"Thought: {thought}\nAction: {step['action']}\n"
            f"Action Input: {json.dumps(args if isinstance(args, dict) else {})}"
        )
    return reply
