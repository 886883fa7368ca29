"""AgentSpec: one role-defined agent, in CrewAI's own agents.yaml keys."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crewyard.tools.refs import ToolReference

# CrewAI agent keys crewyard accepts but does not act on, and why; each one set is reported
# at load (file:line:key), never dropped in silence.
REPORTED_KEYS: dict[str, str] = {
    "memory": "crewyard's shared memory is set for the whole crew, in crew.yaml memory:",
    "multimodal": "deprecated in CrewAI; crewyard passes no images to models",
    "max_tokens": "CrewAI gives it only to models it builds itself; set max_tokens on the "
    "model alias in models.yaml",
    "callbacks": "crewyard records every step as a run event (python main.py runs show)",
    "step_callback": "crewyard records every step as a run event (python main.py runs show)",
    "cache_handler": "crewyard caches tool results within a run (cache: true)",
    "knowledge_sources": "CrewAI knowledge is not wired in; save documents to crewyard's "
    "memory instead (python main.py memory)",
    "knowledge_storage": "CrewAI knowledge is not wired in",
    "knowledge_config": "CrewAI knowledge is not wired in",
    "knowledge_search_query": "CrewAI knowledge is not wired in",
    "agent_knowledge_context": "CrewAI knowledge is not wired in",
    "crew_knowledge_context": "CrewAI knowledge is not wired in",
    "embedder": "crewyard's memory has its own embedder (settings), shared by every agent",
    "from_repository": "needs CrewAI's hosted agent repository (network)",
    "guardrail": "crewyard checks tasks: put guardrail on the task in tasks.yaml",
    "guardrail_max_retries": "crewyard checks tasks: put it on the task in tasks.yaml",
    "apps": "CrewAI platform integrations need its hosted service",
    "a2a": "agent-to-agent delegation to remote agents is not supported",
    "skills": "CrewAI skill folders are not loaded",
    "planning": "use reasoning: true (CrewAI key) or a planning process",
    "planning_config": "use reasoning: true (CrewAI key) or a planning process",
    "security_config": "crewyard runs code and tools under its own sandbox rules",
    "tool_failure_policy": "a failing tool's error goes back to the agent (crewyard's rule)",
    "use_better_compaction": "respect_context_window is the key crewyard passes on",
    "checkpoint": "crewyard checkpoints every finished task itself (--resume)",
}


def _reported(key: str) -> Any:
    return Field(default=None, description=f"CrewAI key, not supported: {REPORTED_KEYS[key]}.")


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
    mcps: tuple[str | dict[str, Any], ...] = Field(
        default=(),
        description="CrewAI key: MCP servers only this agent uses: a stdio command line, an "
        "http(s):// URL (`#tool` keeps one tool), or a mapping like crew.yaml's mcp_servers.",
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
    memory: Any = _reported("memory")
    multimodal: Any = _reported("multimodal")
    max_tokens: Any = _reported("max_tokens")
    callbacks: Any = _reported("callbacks")
    step_callback: Any = _reported("step_callback")
    cache_handler: Any = _reported("cache_handler")
    knowledge_sources: Any = _reported("knowledge_sources")
    knowledge_storage: Any = _reported("knowledge_storage")
    knowledge_config: Any = _reported("knowledge_config")
    knowledge_search_query: Any = _reported("knowledge_search_query")
    agent_knowledge_context: Any = _reported("agent_knowledge_context")
    crew_knowledge_context: Any = _reported("crew_knowledge_context")
    embedder: Any = _reported("embedder")
    from_repository: Any = _reported("from_repository")
    guardrail: Any = _reported("guardrail")
    guardrail_max_retries: Any = _reported("guardrail_max_retries")
    apps: Any = _reported("apps")
    a2a: Any = _reported("a2a")
    skills: Any = _reported("skills")
    planning: Any = _reported("planning")
    planning_config: Any = _reported("planning_config")
    security_config: Any = _reported("security_config")
    tool_failure_policy: Any = _reported("tool_failure_policy")
    use_better_compaction: Any = _reported("use_better_compaction")
    checkpoint: Any = _reported("checkpoint")
