"""AgentSpec: one role-defined agent, in CrewAI's own agents.yaml keys."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from crewyard.tools.refs import ToolReference


class AgentSpec(BaseModel):
    """An agent as declared in agents.yaml (CrewAI's keys, unchanged) or agents/library/."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(description="The agent's job title; {placeholders} are filled from inputs.")
    goal: str = Field(description="What the agent is trying to achieve.")
    backstory: str = Field(description="Who the agent is; shapes tone and expertise.")
    llm: str | None = Field(
        default=None,
        description="A model alias from models.yaml (fast, standard, smart) or a LiteLLM model "
        "string; default: the crew's models.default.",
    )
    tools: tuple[ToolReference, ...] = Field(
        default=(),
        description="Tools the agent may call: a name, or {name: X, args: {...}} with options.",
    )
    max_tools: int = Field(
        default=8,
        ge=1,
        description="Most tools offered for one task; with more, the ones most like the task "
        "are offered (by embedding similarity; the choice is a tools_selected event).",
    )
    function_calling_llm: str | None = Field(
        default=None, description="Model alias used only for tool calls (CrewAI key)."
    )
    max_iter: int = Field(default=15, ge=1, description="Most reasoning steps before answering.")
    max_rpm: int | None = Field(default=None, ge=1, description="Most model calls per minute.")
    max_execution_time: int | None = Field(
        default=None, ge=1, description="Seconds the agent may work on one task."
    )
    max_retry_limit: int = Field(default=2, ge=0, description="Retries after an agent error.")
    verbose: bool = Field(default=False, description="Engine-level verbose output.")
    allow_delegation: bool = Field(
        default=False, description="May hand work to other agents (hierarchical crews)."
    )
    cache: bool = Field(default=True, description="Cache tool results within a run.")
    respect_context_window: bool = Field(
        default=True, description="Summarise history when it outgrows the model's context."
    )
    allow_code_execution: bool = Field(default=False, description="CrewAI key; off by default.")
    code_execution_mode: Literal["safe", "unsafe"] = Field(
        default="safe", description="CrewAI key: how code would be executed."
    )
    system_template: str | None = Field(default=None, description="CrewAI system prompt template.")
    prompt_template: str | None = Field(default=None, description="CrewAI prompt template.")
    response_template: str | None = Field(default=None, description="CrewAI response template.")
    use_system_prompt: bool = Field(default=True, description="Send a system message.")
    inject_date: bool = Field(default=False, description="Add today's date to the task.")
    date_format: str = Field(default="%Y-%m-%d", description="Format of the injected date.")
    reasoning: bool = Field(default=False, description="Plan before each task (CrewAI key).")
    max_reasoning_attempts: int | None = Field(
        default=None, ge=1, description="Most planning attempts when reasoning is on."
    )
    extends: str | None = Field(
        default=None,
        description="Name of an agent in agents/library/ whose keys this agent starts from.",
    )
