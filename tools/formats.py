"""Structure asked of a model: OpenAI's `response_format` for a JSON schema (the gateway passes
it on; on the embedded model it becomes a grammar) — for tool steps (react.py) and every other
place that needs structure — in words for a model that takes none, and a reply that did not
fit sent back."""

from __future__ import annotations

import json
from typing import Any


def json_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Ask for a reply matching schema (name: what the provider calls it)."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}


def asking(
    prompt: str, name: str, schema: dict[str, Any], takes_schema: bool
) -> tuple[str, dict[str, Any] | None]:
    """The prompt and response_format that ask for schema: as a response_format where the
    model takes one, else in words at the end of the prompt."""
    if takes_schema:
        return prompt, json_schema(name, schema)
    return (
        f"{prompt}\n\nAnswer with JSON only, matching this JSON schema:\n{json.dumps(schema)}",
        None,
    )


def sent_back(reply: str, problem: object) -> list[dict[str, Any]]:
    """The messages that send a reply that did not fit back to the model, with the reason."""
    return [
        {"role": "assistant", "content": reply},
        {"role": "user", "content": f"That does not fit: {problem}. Answer again."},
    ]
