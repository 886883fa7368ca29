"""What the MCP server offers: each crew as a tool (its inputs as a JSON Schema) and the three
built-in tools over the run store and the memory. Plain dicts: the MCP types are made in
crewyard.mcp_server.server."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.crews.spec import CrewSpec, InputSpec
from crewyard.errors import ConfigError

JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "list": "array",
    "dict": "object",
}
SCOPES = ("short_term", "facts", "entities", "episodes")

BUILTIN_TOOLS: dict[str, tuple[str, dict[str, Any]]] = {
    "runs_list": (
        "Recent crew runs, newest first: id, crew, status, cost and tokens.",
        {
            "type": "object",
            "properties": {
                "limit": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 200,
                    "default": 20,
                    "description": "How many runs to list.",
                },
                "crew": {"type": "string", "description": "Only runs of this crew."},
            },
            "additionalProperties": False,
        },
    ),
    "run_show": (
        "One run: its status, inputs, final output, every task's output, cost and error.",
        {
            "type": "object",
            "properties": {
                "run_id": {"type": "string", "description": "A run id, or a unique prefix."}
            },
            "required": ["run_id"],
            "additionalProperties": False,
        },
    ),
    "memory_search": (
        "Search the memory every crew shares: the items closest to a text, best first.",
        {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for."},
                "k": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 100,
                    "default": 8,
                    "description": "How many items.",
                },
                "crew": {"type": "string", "description": "Only items of this crew."},
                "scopes": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(SCOPES)},
                    "description": "Which scopes to search (default: all).",
                },
            },
            "required": ["query"],
            "additionalProperties": False,
        },
    ),
}


@dataclass(frozen=True)
class CrewTool:
    """One crew offered as a tool."""

    name: str
    description: str
    input_schema: dict[str, Any]


def input_schema(spec: CrewSpec) -> dict[str, Any]:
    """The crew's declared inputs as a JSON Schema object (types, required, defaults)."""
    properties = {name: _property(inp) for name, inp in spec.inputs.items()}
    required = [n for n, i in spec.inputs.items() if i.is_required and i.default is None]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def _property(inp: InputSpec) -> dict[str, Any]:
    prop: dict[str, Any] = {"type": JSON_TYPES[inp.type]}
    if inp.description:
        prop["description"] = inp.description
    if inp.default is not None:
        prop["default"] = inp.default
    return prop


def describe(spec: CrewSpec) -> str:
    what = spec.description.strip() or f"Run the crew {spec.name!r}."
    return f"{what} (crewyard crew, process {spec.process}; returns the final output.)"


class Catalog:
    """The crews under crews_dir, loaded afresh on every listing; a crew that does not load
    is left out with one warning on stderr (stdout carries the protocol)."""

    def __init__(self, crews_dir: Path) -> None:
        self.crews_dir = crews_dir
        self._warned: dict[str, str] = {}

    def crew_tools(self) -> list[CrewTool]:
        from crewyard import engines
        from crewyard.crews.loader import discover, load_crew

        processes = engines.processes()
        tools = []
        for name in discover(self.crews_dir):
            if name in BUILTIN_TOOLS:
                self._warn(name, f"crew {name!r} is not offered: its name is a built-in tool's")
                continue
            try:
                spec = load_crew(name, self.crews_dir, processes)
            except ConfigError as exc:
                self._warn(name, f"crew {name!r} is not offered, it does not load: {exc}")
                continue
            self._warned.pop(name, None)
            tools.append(CrewTool(name, describe(spec), input_schema(spec)))
        return tools

    def _warn(self, name: str, text: str) -> None:
        if self._warned.get(name) != text:
            self._warned[name] = text
            print(f"warning: {text}", file=sys.stderr, flush=True)
