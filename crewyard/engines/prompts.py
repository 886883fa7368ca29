"""Prompt text shared by engines that have no prompt scheme of their own (AutoGen), and the
earlier-task context CrewAI drops when it retries a task after a failed guardrail. The spec's
templates are filled before the run (crews/templates.py): nothing here fills placeholders, so
braces in earlier outputs stay as they are."""

from __future__ import annotations

from crewyard.agents.spec import AgentSpec
from crewyard.tasks.spec import TaskSpec


def agent_system_message(agent: AgentSpec) -> str:
    """Role, goal and backstory as one system message."""
    return f"You are {agent.role}. {agent.backstory.strip()}\nYour goal: {agent.goal.strip()}"


def task_message(task: TaskSpec, context: list[tuple[str, str]]) -> str:
    """The task as a user message: what to do, what a good answer is, earlier outputs."""
    text = f"{task.description.strip()}\n\nExpected output: {task.expected_output.strip()}"
    if block := context_block(task, context):
        text += f"\n\n{block}"
    return text


def context_block(task: TaskSpec, context: list[tuple[str, str]]) -> str:
    """The earlier outputs the task reads (all of them when its context is unset), or ""."""
    wanted = task.context
    earlier = [(n, o) for n, o in context if wanted is None or n in wanted]
    if not earlier:
        return ""
    return "Context from earlier tasks:\n" + "\n\n".join(
        f"[{name}]\n{output}" for name, output in earlier
    )
