"""Answering a parked run: the answer is recorded once (two people answering at once: the
first wins, the second is told), and the run is then resumed by the caller — its finished
tasks kept, its recorded model calls reused, its question answered from the store."""

from __future__ import annotations

import os
import subprocess
import sys

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


def resume_in_background(settings: Settings, run_id: str) -> subprocess.Popen[bytes]:
    """Resume an answered run in a process of its own (as `python main.py --resume RUN_ID`,
    with these settings), so whoever answered — the run viewer — is not held by the run;
    its progress is in the run store and its log, as any run's."""
    env = dict(os.environ)
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"CREWYARD_{name.upper()}"] = str(value)
    code = f"from crewyard.cli import main; raise SystemExit(main(['--resume', {run_id!r}]))"
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the viewer stopping does not stop the run
    )
