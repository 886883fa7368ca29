"""Parked runs whose question passed its deadline: a worker takes the crew's default answer
for them — once across all workers, as answering is a conditional update — and resumes each
in the background, as `runs answer RUN_ID --default` would."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from crewyard.durable.runner import CrewRunner, Parked
from crewyard.errors import CrewyardError
from crewyard.runs.questions import QuestionStore
from crewyard.runs.store import new_run_id

SWEEP_S = 5.0  # how often a worker looks for questions past their deadline


def take_defaults(runner: CrewRunner, said: Callable[[str], None]) -> list[threading.Thread]:
    """Answer every parked question past its deadline with its default and resume its run;
    the threads resuming them (already started)."""
    questions = QuestionStore(runner.settings.run_store)
    try:
        now, started = time.time(), []
        for asked in questions.waiting():
            if asked.deadline is None or asked.deadline > now or asked.default is None:
                continue
            record = runner.earlier(asked.run_id)
            if record is None or record.status != "waiting_for_input":
                continue
            if not questions.answer(asked.run_id, asked.key, asked.default, "timeout"):
                continue  # another worker took it
            said(f"run {asked.run_id}: no answer in time, taking the default {asked.default!r}")
            thread = threading.Thread(
                target=_resume, args=(runner, record.crew, asked.run_id, said), daemon=True
            )
            thread.start()
            started.append(thread)
        return started
    finally:
        questions.close()


def _resume(runner: CrewRunner, crew: str, run_id: str, said: Callable[[str], None]) -> None:
    try:
        runner.admit()
    except Parked:  # the worker began to stop first: the answer is kept for a manual resume
        said(f"run {run_id} is answered but not resumed: python main.py --resume {run_id}")
        return
    try:
        result = runner.run_crew(crew, {}, new_run_id(), resume=run_id)
        said(f"run {run_id} resumed as {result.run_id}: {result.status}")
    except CrewyardError as exc:  # failed, or parked again on its next question
        said(f"run {run_id} resumed: {exc}")
    finally:
        runner.leave()
