"""What a tool is: the `Tool` protocol engines translate into their own tools, and `@tool`, which
turns a typed Python function into one (its JSON schema from the type hints and docstring)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model


class Tool(Protocol):
    """A tool as engines see it: CrewAI gets args as its args_schema, AutoGen as its argument
    type, and every call goes through RunContext.call_tool (events, failures, switching off).
    A tool adapted from crewai-tools also has `native`, the crewai object the CrewAI engine
    hands to CrewAI (tools/crewai_tools.py)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def args(self) -> type[BaseModel]:
        """The arguments as a pydantic model; its JSON schema is the tool's."""
        ...

    def call(self, **kwargs: Any) -> str:
        """Run with these arguments; bad arguments come back as an error text to read."""
        ...


@dataclass(frozen=True)
class ToolSpec:
    """A Tool made from a Python function by @tool."""

    name: str
    description: str
    args: type[BaseModel]
    fn: Callable[..., Any]

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments."""
        return self.args.model_json_schema()

    def call(self, **kwargs: Any) -> str:
        """Validate the arguments, run, and return text; bad arguments are explained."""
        try:
            checked = self.args.model_validate(kwargs)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            return f"error: bad arguments for {self.name}: {problems}"
        result = self.fn(**checked.model_dump())
        return result if isinstance(result, str) else str(result)


def tool(
    fn: Callable[..., Any] | None = None, *, name: str | None = None, description: str | None = None
) -> Any:
    """@tool or @tool(name=..., description=...) over a function with typed parameters."""

    def make(func: Callable[..., Any]) -> ToolSpec:
        hints = get_type_hints(func)
        fields: dict[str, Any] = {}
        for param in inspect.signature(func).parameters.values():
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[param.name] = (hints.get(param.name, str), default)
        args = create_model(
            f"{func.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields
        )
        doc = inspect.getdoc(func) or ""
        return ToolSpec(name or func.__name__, description or doc or func.__name__, args, func)

    return make(fn) if fn is not None else make


@dataclass(frozen=True)
class ToolFactory:
    """A built-in tool made for each crew (and run) from its options and what the crew may
    reach: the workspace folders, the web hosts (a ToolEnv)."""

    name: str
    description: str
    options: type[BaseModel]  # the `args:` a tool reference may give
    build: Callable[[Any, Any], Tool]  # (ToolEnv, options) → Tool
    # why the crew cannot use it as declared (a crew.yaml key missing), or None
    problem: Callable[[Any], str | None] | None = None


def function_tool(fn: Callable[..., Any]) -> ToolSpec:
    """@tool as a typed call (for tools made inside a factory)."""
    made: ToolSpec = tool(fn)
    return made
