"""`process: auto`: which engine a crew's shape calls for, and why."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crewyard.agents.spec import AgentSpec
from crewyard.crews.spec import AUTO_PROCESS, ModelChoice, Process

DEBATE_ROLES = ("judge", "critic", "proposer", "debater")
CODING_ROLES = ("coder", "programmer", "developer", "engineer")


def _mentions(agents: Mapping[str, AgentSpec], words: tuple[str, ...]) -> list[str]:
    return [
        name for name, a in agents.items() if any(w in f"{name} {a.role}".lower() for w in words)
    ]


def choose_process(
    declared: Process,
    agents: Mapping[str, AgentSpec],
    models: ModelChoice,
    engine_options: Mapping[str, Any],
) -> tuple[Process, str]:
    """(process, reason). A declared process is kept; `auto` is decided from the shape."""
    if declared != AUTO_PROCESS:
        return declared, f"process: {declared} in crew.yaml"
    delegators = [n for n, a in agents.items() if a.allow_delegation]
    if delegators or models.manager or "manager_agent" in engine_options:
        who = f"agent {delegators[0]!r} may delegate" if delegators else "a manager is named"
        return "hierarchical", f"auto: {who}"
    debaters = _mentions(agents, DEBATE_ROLES)
    if "rounds" in engine_options or (_mentions(agents, ("judge",)) and len(debaters) >= 2):
        return "debate", f"auto: debate roles ({', '.join(debaters) or 'rounds set'})"
    coders = _mentions(agents, CODING_ROLES)
    if "tests" in engine_options or any(a.allow_code_execution for a in agents.values()) or coders:
        why = f"coding role {coders[0]!r}" if coders else "code execution declared"
        return "coding", f"auto: {why}"
    if {"breadth", "beam", "depth"} & set(engine_options) or _mentions(agents, ("evaluator",)):
        return "tree_of_thought", "auto: thoughts are scored (an evaluator, or breadth/beam set)"
    planners = _mentions(agents, ("planner",))
    if "solver" in engine_options or (planners and _mentions(agents, ("solver",))):
        return "rewoo", "auto: a planner gathers evidence for a solver"
    if planners or "max_replans" in engine_options:
        who = f"planner {planners[0]!r}" if planners else "max_replans set"
        return "plan_execute", f"auto: {who} plans the steps"
    return "sequential", (
        "auto: no manager, debate roles, code execution, planner or evaluator, so tasks run "
        "in order"
    )
