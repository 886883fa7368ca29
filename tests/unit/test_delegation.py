"""Delegation budget and loop detection, alone and on a real CrewAI hierarchical crew."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.engines.delegation import DelegationGuard, DelegationStopped
from tests.conftest import TWO_AGENTS, TWO_TASKS


def delegate(coworker: str, task: str) -> str:
    args = json.dumps({"task": task, "context": "all we know", "coworker": coworker})
    return f"Thought: let a coworker do it\nAction: Delegate work to coworker\nAction Input: {args}"


def test_guard_counts_delegations_and_ignores_other_replies() -> None:
    guard = DelegationGuard(max_delegations=2, max_repeats=3)
    assert guard.check("Final Answer: done") is None
    assert guard.check(delegate("Researcher", "Find facts")) == ("researcher", "find facts")
    assert guard.check(delegate("Writer", "Write it")) == ("writer", "write it")
    with pytest.raises(DelegationStopped, match="budget of 2"):
        guard.check(delegate("Writer", "Polish it"))


def test_guard_stops_the_same_delegation_repeated() -> None:
    guard = DelegationGuard(max_delegations=10, max_repeats=2)
    guard.check(delegate("Researcher", "Find facts"))
    with pytest.raises(DelegationStopped, match="same request to 'researcher' 2 times"):
        guard.check(delegate("researcher", "find   facts"))


def test_unknown_manager_agent_is_a_config_error(make_crew: Any, crews_dir: Path) -> None:
    from crewyard.errors import ConfigError

    make_crew(
        crew={"process": "hierarchical", "engine_options": {"manager_agent": "bos"}},
        agents=TWO_AGENTS,
        tasks=TWO_TASKS,
    )
    with pytest.raises(ConfigError, match="'bos' is not an agent") as info:
        load_crew("demo", crews_dir)
    assert info.value.key == "engine_options.manager_agent"
