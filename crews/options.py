"""The built-in processes' options: the `engine_options:` mapping of crew.yaml, one model per
process (engines declare which of them they run; see crewyard/engines)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Options(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SequentialOptions(_Options):
    """CrewAI sequential process."""

    max_rpm: int | None = Field(default=None, ge=1, description="Crew-wide model calls/minute.")


class HierarchicalOptions(_Options):
    """CrewAI hierarchical process: a manager delegates to the workers."""

    manager_agent: str | None = Field(
        default=None,
        description="Agent (from agents.yaml) to act as manager; default: a "
        "manager built by CrewAI on the `manager` model alias.",
    )
    max_delegations: int = Field(
        default=8, ge=1, description="Delegation budget for the whole run."
    )
    max_repeats: int = Field(
        default=2,
        ge=1,
        description="The same delegation (worker + request) this many times "
        "in a row ends the run as a loop.",
    )
    max_rpm: int | None = Field(default=None, ge=1, description="Crew-wide model calls/minute.")


class DebateOptions(_Options):
    """AutoGen debate: debaters take turns for a number of rounds, then a judge decides."""

    rounds: int = Field(default=2, ge=1, le=20, description="Turns each debater takes.")
    debaters: tuple[str, ...] | None = Field(
        default=None,
        description="Agents who argue, in speaking order; default: every agent except the judge.",
    )
    judge: str | None = Field(
        default=None,
        description="Agent who gives the verdict; default: the agent named "
        "judge, else the last agent.",
    )
    timeout_s: float = Field(default=900, gt=0, description="Wall-clock limit of the debate.")
    human: Literal["judge"] | None = Field(
        default=None,
        description="judge: a person gives the verdict (asked at the terminal, in the notebook, "
        "or parked for `runs answer`); every agent then debates unless debaters is set.",
    )
    turn_order: Literal["round_robin", "selector"] = Field(
        default="round_robin",
        description="round_robin: strict turns in the declared order; "
        "selector: a model picks the next speaker (constrained to the debaters' names, falling "
        "back to the declared order when its answer is unusable).",
    )


class CodingOptions(_Options):
    """AutoGen coding: a coder writes Python, a sandboxed executor runs it and reports back."""

    coder: str | None = Field(default=None, description="The coding agent; default: the first.")
    max_rounds: int = Field(default=4, ge=1, le=20, description="Most write-and-run rounds.")
    tests: str | None = Field(
        default=None,
        description="Python appended to every program (asserts); the run ends "
        "when program and tests exit 0.",
    )
    timeout_s: float = Field(default=20, gt=0, description="Wall clock per execution.")
    cpu_s: int = Field(default=20, ge=1, description="CPU seconds per execution.")
    memory_mb: int = Field(default=512, ge=64, description="Address-space limit per execution.")
    network: bool = Field(default=False, description="Let executed code use the network.")
    human: Literal["approve"] | None = Field(
        default=None,
        description="approve: a person approves the code that passed before it is saved; any "
        "answer but an empty one or yes goes back to the coder as the change to make.",
    )
    keep_scratch: bool = Field(
        default=False,
        description="Keep each round's sandbox folder (program and what it wrote) under the "
        "run's outputs; by default only the final code is saved.",
    )


BUILTIN_PROCESSES: dict[str, type[BaseModel]] = {
    "sequential": SequentialOptions,
    "hierarchical": HierarchicalOptions,
    "debate": DebateOptions,
    "coding": CodingOptions,
}
