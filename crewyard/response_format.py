"""OpenAI's `response_format` for a JSON schema: what every place that needs structure from a
model asks for (the gateway passes it on; on the embedded model it becomes a grammar)."""

from __future__ import annotations

from typing import Any


def json_schema(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """Ask for a reply matching schema (name: what the provider calls it)."""
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}
