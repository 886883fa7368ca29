"""Answering a parked run: the answer is recorded once (two people answering at once: the
first wins, the second is told), and the run is then resumed by the caller — its finished
tasks kept, its recorded model calls reused, its question answered from the store."""

from __future__ import annotations

from crewyard.errors import ConfigError
from crewyard.runs.questions import Asked, QuestionStore
from crewyard.runs.store import RunStore
from crewyard.settings import Settings

WAITING = "waiting_for_input"


def give_answer(settings: Settings, run_id: str, text: str | None) -> Asked:
    """Answer the question run_id waits on (text None: its default); the question."""
    store, questions = RunStore(settings.run_store), QuestionStore(settings.run_store)
    try:
        record = store.get(run_id)  # ConfigError for an unknown run
        pending = questions.waiting(record.id)
        if record.status != WAITING or not pending:
            raise ConfigError(
                f"run {record.id} is not waiting for input (it is {record.status})",
                hint="python main.py runs list shows the runs waiting_for_input",
            )
        asked = pending[-1]
        by = "person" if text is not None else "default"
        if text is None:
            if asked.default is None:
                raise ConfigError(
                    f"run {record.id}'s question has no default answer",
                    hint=f'give one: python main.py runs answer {record.id} "…"',
                )
            text = asked.default
        if not questions.answer(record.id, asked.key, text, by):
            raise ConfigError(
                f"run {record.id}'s question was answered already",
                hint=f"python main.py runs show {record.id}",
            )
        return asked
    finally:
        questions.close()
        store.close()
