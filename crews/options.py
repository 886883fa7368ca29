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


class PlanExecuteOptions(_Options):
    """Plan and execute: a planner writes a typed plan, agents run its steps one by one, and
    the planner revises the rest of the plan after a step that failed."""

    planner: str | None = Field(
        default=None,
        description="Agent who writes and revises the plan; default: the agent named planner, "
        "else the first.",
    )
    max_steps: int = Field(
        default=5, ge=1, le=20, description="Most steps a plan may have, and run per task."
    )
    max_replans: int = Field(
        default=2, ge=0, le=10, description="Revisions of the plan after failed steps, per task."
    )


class RewooOptions(_Options):
    """ReWOO: a planner writes the whole plan with evidence variables (#E1 = tool[args]) in
    one call; the tools run without the model; a solver answers from the evidence."""

    planner: str | None = Field(
        default=None,
        description="Agent who writes the plan; default: the agent named planner, else the first.",
    )
    solver: str | None = Field(
        default=None,
        description="Agent who answers from the evidence; default: the agent named solver, "
        "else the last.",
    )
    max_steps: int = Field(default=5, ge=1, le=20, description="Most evidence steps a plan has.")


class TreeOfThoughtOptions(_Options):
    """Tree of thoughts: a thinker proposes candidate next thoughts, an evaluator scores each,
    the best `beam` paths are kept for `depth` levels, then the thinker answers along the best
    path."""

    thinker: str | None = Field(
        default=None,
        description="Agent who proposes thoughts and writes the answer; default: the first.",
    )
    evaluator: str | None = Field(
        default=None,
        description="Agent who scores thoughts; default: the agent named evaluator (or judge), "
        "else the thinker.",
    )
    breadth: int = Field(default=3, ge=1, le=8, description="Candidate thoughts per path.")
    depth: int = Field(default=2, ge=1, le=6, description="Thoughts along a path.")
    beam: int = Field(default=2, ge=1, le=8, description="Paths kept after each level.")
    max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Token budget of the search, per task: once spent no path is expanded "
        "further and the answer follows the best path found so far.",
    )


BUILTIN_PROCESSES: dict[str, type[BaseModel]] = {
    "sequential": SequentialOptions,
    "hierarchical": HierarchicalOptions,
    "debate": DebateOptions,
    "coding": CodingOptions,
    "plan_execute": PlanExecuteOptions,
    "rewoo": RewooOptions,
    "tree_of_thought": TreeOfThoughtOptions,
}
PLANNING_PROCESSES = ("plan_execute", "rewoo", "tree_of_thought")
