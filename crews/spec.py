"""CrewFile (what crew.yaml holds) and CrewSpec (a crew resolved and checked, ready to run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crewyard.agents.spec import AgentSpec
from crewyard.crews.schedules import ScheduleSpec
from crewyard.tasks.spec import TaskSpec
from crewyard.tools.mcp_spec import McpServerSpec

# sequential | hierarchical | debate | coding | auto, or a process an engine plugin adds
Process = str
AUTO_PROCESS = "auto"
InputType = Literal["str", "int", "float", "bool", "list", "dict"]


class InputSpec(BaseModel):
    """One declared crew input."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: InputType = Field(default="str", description="Value type; CLI strings are converted.")
    required: bool | None = Field(
        default=None, description="Must be given; default: true unless a default is set."
    )
    default: Any = Field(default=None, description="Value used when the input is not given.")
    description: str = Field(default="", description="Shown by --list and in the schema.")

    @property
    def is_required(self) -> bool:
        return self.required if self.required is not None else self.default is None


class ModelChoice(BaseModel):
    """Which models.yaml alias each part of the crew uses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: str = Field(default="standard", description="Alias for agents with no llm key.")
    manager: str | None = Field(
        default=None, description="Alias for the manager of hierarchical crews."
    )


class MemoryChoice(BaseModel):
    """How the crew uses the shared memory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=True, description="Recall before the run, store after it.")
    recall: int = Field(default=5, ge=0, le=50, description="Items recalled per scope.")
    budget_chars: int = Field(
        default=1500, ge=0, description="Most characters of recalled memory given to agents."
    )
    learn: Literal["bullets", "model"] = Field(
        default="bullets",
        description="How a finished run's facts are taken from its task outputs: `bullets` "
        "(each bullet or numbered point, no model call) or `model` (one call per task output "
        "asks for typed statements under a JSON schema; a grammar on the embedded model).",
    )
    learn_model: str | None = Field(
        default=None,
        description="Alias that extracts facts with `learn: model` (default: the crew's model).",
    )


class Budget(BaseModel):
    """Limits of one run; the run ends with status budget_exceeded when the next call would
    pass one. Every task output finished before is kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int | None = Field(default=None, ge=1, description="Prompt + completion tokens.")
    max_cost_usd: float | None = Field(default=None, gt=0, description="Dollars (priced models).")


class WorkspaceChoice(BaseModel):
    """The folders the file tools (read_file, list_files, …, crewai-tools' FileReadTool) may
    reach besides the run's outputs folder: `folders: [docs]` makes `docs/…` mean the crew's
    docs folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    folders: tuple[str, ...] = Field(
        default=(),
        description="Folders of the crew (relative to its folder, no `..`) the file tools may "
        "read; a path starting with the folder's name is inside it.",
    )
    writable: bool = Field(
        default=False,
        description="write_file may write into these folders too (default: only into the "
        "run's outputs folder).",
    )


class WebChoice(BaseModel):
    """What the web_fetch tool may fetch: nothing unless hosts are listed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: tuple[str, ...] = Field(
        default=(), description="Host names web_fetch may fetch from (http and https only)."
    )
    max_bytes: int = Field(
        default=512 * 1024, ge=1, le=10 * 1024 * 1024, description="Most bytes read per fetch."
    )
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="Seconds per fetch.")


class HumanChoice(BaseModel):
    """How the run asks a human (CrewAI `human_input: true`, AutoGen `engine_options.human`)
    and what it takes when nobody answers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="Seconds a question waits before `default` is taken (at a terminal, or "
        "parked for `runs answer`); none: it waits until answered.",
    )
    default: str | None = Field(
        default=None,
        description='The answer taken on timeout ("" accepts the work as it is); needs timeout_s.',
    )

    @model_validator(mode="after")
    def _default_needs_a_timeout(self) -> HumanChoice:
        if (self.default is None) != (self.timeout_s is None):
            raise ValueError("human: give timeout_s and default together (or neither)")
        return self


class CrewFile(BaseModel):
    """The keys of crews/<name>/crew.yaml; agents.yaml and tasks.yaml sit beside it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(default=None, description="Crew name; defaults to its folder name.")
    description: str = Field(default="", description="One line shown by --list.")
    process: Process = Field(
        default="sequential",
        description="How the crew works: sequential, hierarchical (CrewAI), debate, coding "
        "(AutoGen), a process an engine plugin adds, or auto (chosen from the crew's shape).",
    )
    inputs: dict[str, InputSpec] | None = Field(
        default=None,
        description="Declared inputs. Without this key every {placeholder} is a required string.",
    )
    models: ModelChoice = Field(default_factory=ModelChoice, description="Model aliases to use.")
    memory: MemoryChoice = Field(default_factory=MemoryChoice, description="Shared memory use.")
    budget: Budget = Field(default_factory=Budget, description="Token and dollar limits per run.")
    agents: tuple[str, ...] | None = Field(
        default=None,
        description="Agents in the crew, by name: from agents.yaml or agents/library/. "
        "Default: every agent in agents.yaml.",
    )
    tasks: tuple[str, ...] | None = Field(
        default=None,
        description="Tasks in run order, by name: from tasks.yaml or tasks/library/. "
        "Default: every task in tasks.yaml, in file order.",
    )
    assign: dict[str, str] = Field(
        default_factory=dict,
        description="Who does a task whose tasks.yaml entry names no agent, {task: agent}; "
        "overrides the assignment rule (the only agent, else the agent whose name shares a "
        "word with the task's name).",
    )
    verbose: bool = Field(default=False, description="Engine-level verbose output.")
    schedules: tuple[ScheduleSpec, ...] = Field(
        default=(),
        description="When `python main.py worker` runs the crew on its own (cron, inputs, "
        "timezone, overlap, catch_up).",
    )
    engine_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options of the engine that runs the process (rounds, tests, delegation "
        "budget, …); unknown ones are rejected. See `python main.py schema`.",
    )
    mcp_servers: dict[str, McpServerSpec] = Field(
        default_factory=dict,
        description="MCP servers by name (stdio command or streamable HTTP url); their tools "
        "reach every agent as NAME__TOOL.",
    )
    workspace: WorkspaceChoice = Field(
        default_factory=WorkspaceChoice,
        description="Crew folders the file tools may use besides the run's outputs folder.",
    )
    human: HumanChoice = Field(
        default_factory=HumanChoice, description="How a human is asked, and the default answer."
    )
    web: WebChoice = Field(
        default_factory=WebChoice, description="Hosts the web_fetch tool may fetch from."
    )


class CrewSpec(BaseModel):
    """A crew after loading: every agent and task resolved, references and inputs checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Crew name.")
    description: str = Field(default="", description="One line shown by --list.")
    process: Process = Field(description="The process that runs (auto already decided).")
    process_reason: str = Field(default="", description="Why this process (for auto: the rule).")
    inputs: dict[str, InputSpec] = Field(description="Declared (or inferred) inputs.")
    models: ModelChoice = Field(description="Model aliases to use.")
    memory: MemoryChoice = Field(default_factory=MemoryChoice, description="Shared memory use.")
    budget: Budget = Field(default_factory=Budget, description="Token and dollar limits per run.")
    agents: dict[str, AgentSpec] = Field(description="Agents by name.")
    tasks: dict[str, TaskSpec] = Field(description="Tasks by name, in run order.")
    verbose: bool = Field(default=False, description="Engine-level verbose output.")
    engine_options: dict[str, Any] = Field(
        default_factory=dict, description="Validated options of the process's engine."
    )
    directory: Path = Field(description="The crew's folder.")
    schedules: tuple[ScheduleSpec, ...] = Field(
        default=(), description="Its schedules, each named (checked: cron, timezone, inputs)."
    )
    assigned: dict[str, str] = Field(
        default_factory=dict,
        description="Tasks whose agent was not named in tasks.yaml: task → how its agent was "
        "chosen (crew.yaml assign:, or the assignment rule).",
    )
    origins: dict[str, tuple[Path, int | None]] = Field(
        default_factory=dict,
        description="Where model references were written: 'agents.<name>.llm' or "
        "'tasks.<name>.model' → (file, line), so a model's error points there.",
    )
    warnings: tuple[str, ...] = Field(
        default=(),
        description="What the loader accepted but crewyard does not act on (CrewAI keys it "
        "does not support), each with file:line:key and why.",
    )
    mcp_servers: dict[str, McpServerSpec] = Field(
        default_factory=dict,
        description="MCP servers by name: crew.yaml's, and agents' `mcps:` (each with its agent).",
    )
    workspace: WorkspaceChoice = Field(
        default_factory=WorkspaceChoice, description="Crew folders the file tools may use."
    )
    human: HumanChoice = Field(
        default_factory=HumanChoice, description="How a human is asked, and the default answer."
    )
    web: WebChoice = Field(
        default_factory=WebChoice, description="Hosts the web_fetch tool may fetch from."
    )

    def learning_model(self) -> str:
        """The model alias that extracts facts with `memory.learn: model`."""
        return self.memory.learn_model or self.models.default

    def agent_model(self, agent_name: str) -> str:
        """The model alias (or LiteLLM string) an agent calls."""
        return self.agents[agent_name].llm or self.models.default
