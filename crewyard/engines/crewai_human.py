"""CrewAI's `human_input: true` through the run's Human (crewyard/human): CrewAI's human
input provider, answered by the terminal, a notebook, or by parking the run; an empty answer
accepts the task's result, anything else goes back to the agent as feedback, round after
round, as CrewAI does at a terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crewai.core.providers.human_input import (
    SyncHumanInputProvider,
    reset_provider,
    set_provider,
)

from crewyard.context import RunContext

REVIEW = (
    "Review the result above. Press Enter (an empty answer) to accept it, or say what to change."
)


class RunHumanInput(SyncHumanInputProvider):
    """CrewAI's provider protocol, asking the run's human for each round of feedback."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx

    def handle_feedback(self, formatted_answer: Any, context: Any) -> Any:
        answer = formatted_answer
        while (feedback := self._ask(answer, context)).strip():
            context.messages.append(context._format_feedback_message(feedback))
            answer = context._invoke_loop()
        context.ask_for_human_input = False
        return answer

    async def handle_feedback_async(self, formatted_answer: Any, context: Any) -> Any:
        answer = formatted_answer
        while (feedback := await asyncio.to_thread(self._ask, answer, context)).strip():
            context.messages.append(context._format_feedback_message(feedback))
            answer = await context._ainvoke_loop()
        context.ask_for_human_input = False
        return answer

    def _ask(self, answer: Any, context: Any) -> str:
        task = getattr(getattr(context, "task", None), "name", None) or "task"
        agent = getattr(getattr(context, "agent", None), "role", None)
        text = self._get_output_string(answer)
        return self._ctx.ask_human(f"{task}:review", REVIEW, text, agent)


@contextmanager
def asking_the_run_human(ctx: RunContext) -> Iterator[None]:
    """CrewAI asks this run's human (in this thread's context) while the block runs."""
    token = set_provider(RunHumanInput(ctx))
    try:
        yield
    finally:
        reset_provider(token)
