"""A crew's templates filled with its inputs, once, before the run: roles, goals, backstories,
task descriptions, expected outputs and a judge's criteria. Whatever reaches a prompt after
that — braces inside an input's value, recalled memory, an earlier task's output — is data:
no engine reads it as a placeholder again (CrewAI is given no inputs to interpolate)."""

from __future__ import annotations

from typing import Any

from crewyard.crews.inputs import fill
from crewyard.crews.spec import CrewSpec

AGENT_TEMPLATES = ("role", "goal", "backstory")
TASK_TEMPLATES = ("description", "expected_output", "guardrail")


def filled(spec: CrewSpec, inputs: dict[str, Any]) -> CrewSpec:
    """The spec with every template filled (output_file stays a template: it is filled and
    confined when the file is written)."""
    agents = {
        name: agent.model_copy(update={f: fill(getattr(agent, f), inputs) for f in AGENT_TEMPLATES})
        for name, agent in spec.agents.items()
    }
    tasks = {}
    for name, task in spec.tasks.items():
        update: dict[str, Any] = {
            f: fill(value, inputs) for f in TASK_TEMPLATES if (value := getattr(task, f))
        }
        if task.guardrails is not None and task.guardrails.judge:
            judge = fill(task.guardrails.judge, inputs)
            update["guardrails"] = task.guardrails.model_copy(update={"judge": judge})
        tasks[name] = task.model_copy(update=update)
    return spec.model_copy(update={"agents": agents, "tasks": tasks})
