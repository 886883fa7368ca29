"""The questions runs ask a human, in the run store's database: asked (waiting), answered
(by whom: a person, or the default on timeout). A run that parks waiting for an answer is
resumed once it has one; the resumed run finds the answers of the run it resumes, carried
over, so every question is asked once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.redact import redact
from crewyard.runs.database import connect


@dataclass(frozen=True)
class Asked:
    run_id: str
    key: str  # the question's place in the run (task and turn): the same on a resume
    prompt: str
    context: str | None  # what the human is asked about (the answer under review, …)
    task: str | None
    agent: str | None
    default: str | None
    asked_at: float
    deadline: float | None
    answer: str | None
    answered_by: str | None


class QuestionStore:
    """Questions and answers (a connection of its own)."""

    def __init__(self, location: Path | str) -> None:
        self._db = connect(location)
        self.where = self._db.where

    def close(self) -> None:
        self._db.close()

    def ask(self, asked: Asked) -> None:
        """The question, recorded as waiting (asked again: kept as first asked)."""
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO questions (run_id, key, prompt, context, task, agent,"
                " default_answer, asked_at, deadline) VALUES (?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (run_id, key) DO NOTHING",
                (
                    asked.run_id,
                    asked.key,
                    redact(asked.prompt),
                    redact(asked.context) if asked.context else None,
                    asked.task,
                    asked.agent,
                    asked.default,
                    asked.asked_at,
                    asked.deadline,
                ),
            )

    def answer(self, run_id: str, key: str, text: str, by: str) -> bool:
        """Answer a waiting question; False when it was answered already (once only). A run
        parked on it is then `answered` (its resumed run goes on with the answer)."""
        with self._db.transaction() as db:
            cursor = db.execute(
                "UPDATE questions SET answer = ?, answered_at = ?, answered_by = ?"
                " WHERE run_id = ? AND key = ? AND answer IS NULL",
                (text, time.time(), by, run_id, key),
            )
            if cursor.rowcount != 1:
                return False
            db.execute(
                "UPDATE runs SET status = 'answered' WHERE id = ? AND status = ?",
                (run_id, "waiting_for_input"),
            )
            return True

    def record(self, asked: Asked, text: str, by: str) -> None:
        """A question asked and answered at once (at a terminal, in a notebook)."""
        self.ask(asked)
        self.answer(asked.run_id, asked.key, text, by)

    def carry(self, from_run: str, to_run: str) -> None:
        """The answered questions of a run, as answers the run resuming it already has."""
        with self._db.transaction() as db:
            db.execute(
                "INSERT INTO questions (run_id, key, prompt, context, task, agent,"
                " default_answer, asked_at, deadline, answer, answered_at, answered_by)"
                " SELECT ?, key, prompt, context, task, agent, default_answer, asked_at,"
                " deadline, answer, answered_at, answered_by FROM questions"
                " WHERE run_id = ? AND answer IS NOT NULL ON CONFLICT (run_id, key) DO NOTHING",
                (to_run, from_run),
            )

    def get(self, run_id: str, key: str) -> Asked | None:
        row = self._db.fetchone(
            "SELECT * FROM questions WHERE run_id = ? AND key = ?", (run_id, key)
        )
        return _asked(row) if row is not None else None

    def waiting(self, run_id: str | None = None) -> list[Asked]:
        """Unanswered questions (of one run, or of every run), oldest first."""
        where, args = ("AND run_id = ?", (run_id,)) if run_id else ("", ())
        rows = self._db.fetchall(
            f"SELECT * FROM questions WHERE answer IS NULL {where} ORDER BY asked_at", args
        )
        return [_asked(r) for r in rows]

    def of_run(self, run_id: str) -> list[Asked]:
        rows = self._db.fetchall(
            "SELECT * FROM questions WHERE run_id = ? ORDER BY asked_at", (run_id,)
        )
        return [_asked(r) for r in rows]


def _asked(row: Any) -> Asked:
    return Asked(
        run_id=row["run_id"],
        key=row["key"],
        prompt=row["prompt"],
        context=row["context"],
        task=row["task"],
        agent=row["agent"],
        default=row["default_answer"],
        asked_at=row["asked_at"],
        deadline=row["deadline"],
        answer=row["answer"],
        answered_by=row["answered_by"],
    )
