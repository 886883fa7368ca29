"""The Human interface: how a run asks a person (CrewAI's `human_input: true`, a human judge
of a debate, an approval before code is saved), whoever is there — a terminal prompt, a
notebook callback or input box — and, where nobody is (no TTY, a batch, a schedule, an MCP
call), a question parked in the run store: the run stops as `waiting_for_input` and goes on
when `runs answer` (crewyard.answer) gives it one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from crewyard.errors import CrewyardError, ExitCode
from crewyard.runs.questions import Asked, QuestionStore


@dataclass(frozen=True)
class Question:
    key: str  # its place in the run: the same when a resumed run comes to it again
    prompt: str
    context: str = ""  # what it is about: the answer under review, the debate, the code
    task: str | None = None
    agent: str | None = None
    default: str | None = None  # taken after timeout_s without an answer
    timeout_s: float | None = None


class Human(Protocol):
    """Someone who answers now, or None when nobody can (the question is then parked)."""

    def ask(self, question: Question) -> str | None: ...


class WaitingForInput(CrewyardError):
    """The run asked a question nobody could answer now: it is parked until answered."""

    exit_code = ExitCode.WAITING

    def __init__(self, run_id: str, question: Question) -> None:
        super().__init__(f"waiting for input: {question.prompt}")
        self.run_id = run_id
        self.question = question
        self.hint = f'python main.py runs answer {run_id} "your answer"'


class Nobody:
    """No person at hand: every question is parked."""

    def ask(self, question: Question) -> str | None:
        return None


class CallbackHuman:
    """A function that answers (a notebook's callback): question → answer, None to park."""

    def __init__(self, answer: Callable[[Question], str | None]) -> None:
        self._answer = answer

    def ask(self, question: Question) -> str | None:
        return self._answer(question)


class RunHuman:
    """A run's human: an answer the run already has (a resumed run's), else the person at
    hand (recorded), else the question parked (WaitingForInput stops the run)."""

    def __init__(self, store: QuestionStore, run_id: str, person: Human | None) -> None:
        self._store = store
        self.run_id = run_id
        self._person = person or Nobody()
        self._counts: dict[str, int] = {}

    def key(self, place: str) -> str:
        """A stable key for the n-th question asked at place (task:kind) in this run."""
        self._counts[place] = self._counts.get(place, 0) + 1
        return f"{place}:{self._counts[place]}"

    def ask(self, question: Question) -> str:
        known = self._store.get(self.run_id, question.key)
        if known is not None and known.answer is not None:
            return known.answer
        asked = self._asked(question)
        if known is not None and _expired(known):  # parked past its deadline
            self._store.answer(self.run_id, question.key, known.default or "", "timeout")
            return known.default or ""
        answer = self._person.ask(question)
        if answer is None:
            self._store.ask(asked)
            raise WaitingForInput(self.run_id, question)
        self._store.record(asked, answer, "person")
        return answer

    def _asked(self, q: Question) -> Asked:
        now = time.time()
        return Asked(
            run_id=self.run_id,
            key=q.key,
            prompt=q.prompt,
            context=q.context or None,
            task=q.task,
            agent=q.agent,
            default=q.default,
            asked_at=now,
            deadline=now + q.timeout_s if q.timeout_s is not None else None,
            answer=None,
            answered_by=None,
        )


def _expired(asked: Asked) -> bool:
    return asked.deadline is not None and time.time() >= asked.deadline
