"""How agents.yaml / tasks.yaml name a tool: a plain name, or `{name: X, args: {...}}` with
the tool's options (constructor options of a crewai-tools class, a built-in's factory
options)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ToolRef(BaseModel):
    """A tool named with options."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        description="A built-in or registered tool, a @tool function in the crew's tools.py, "
        "or a crewai-tools class (FileReadTool or file_read_tool)."
    )
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="The tool's options: constructor options of a crewai-tools class, "
        "factory options of a built-in (see `python main.py schema`).",
    )


ToolReference = str | ToolRef


def ref_name(ref: ToolReference) -> str:
    """The name a reference names."""
    return ref if isinstance(ref, str) else ref.name


def ref_args(ref: ToolReference) -> dict[str, Any]:
    """The options a reference gives (none for a plain name)."""
    return {} if isinstance(ref, str) else dict(ref.args)


def ref_names(refs: tuple[ToolReference, ...]) -> list[str]:
    return [ref_name(r) for r in refs]
