"""TaskSpec: one task, in CrewAI's own tasks.yaml keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TaskSpec(BaseModel):
    """A task as declared in tasks.yaml (CrewAI's keys, unchanged) or tasks/library/."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(description="What to do; {placeholders} are filled from inputs.")
    expected_output: str = Field(description="What a good result looks like.")
    agent: str | None = Field(
        default=None, description="Name of the agent that does it (required for sequential)."
    )
    context: tuple[str, ...] | None = Field(
        default=None,
        description="Names of earlier tasks whose outputs this task reads; "
        "default: every earlier task's output (CrewAI's rule).",
    )
    output_file: str | None = Field(
        default=None,
        description="File to write the output to, relative to the run's output directory.",
    )
    tools: tuple[str, ...] = Field(default=(), description="Tools for this task only.")
    model: str | None = Field(
        default=None,
        description="Model for this task only: an alias, a LiteLLM model string, or `auto` "
        "(the gateway routes by the task's complexity); default: the agent's.",
    )
    async_execution: bool = Field(default=False, description="CrewAI key: run in the background.")
    human_input: bool = Field(default=False, description="CrewAI key: ask a human to review.")
    markdown: bool = Field(default=False, description="Ask for Markdown output (CrewAI key).")
    create_directory: bool = Field(default=True, description="Create output_file's folder.")
    name: str | None = Field(default=None, description="Display name; defaults to the YAML key.")
    extends: str | None = Field(
        default=None,
        description="Name of a task in tasks/library/ whose keys this task starts from.",
    )
