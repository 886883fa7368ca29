"""Prompt text shared by engines that have no prompt scheme of their own (AutoGen)."""

from __future__ import annotations

from typing import Any

from agents.spec import AgentSpec
from crewyard.inputs import fill
from tasks.spec import TaskSpec


def agent_system_message(agent: AgentSpec, inputs: dict[str, Any]) -> str:
    """Role, goal and backstory as one system message, placeholders filled."""
    return fill(
        f"You are {agent.role}. {agent.backstory.strip()}\nYour goal: {agent.goal.strip()}",
        inputs,
    )


def task_message(task: TaskSpec, inputs: dict[str, Any], context: list[tuple[str, str]]) -> str:
    """The task as a user message: what to do, what a good answer is, earlier outputs."""
    text = f"{task.description.strip()}\n\nExpected output: {task.expected_output.strip()}"
    wanted = task.context
    earlier = [(n, o) for n, o in context if wanted is None or n in wanted]
    if earlier:
        text += "\n\nContext from earlier tasks:\n" + "\n\n".join(
            f"[{name}]\n{output}" for name, output in earlier
        )
    return fill(text, inputs)
