"""Work a stopping process takes is handed back unstarted when the runner closes, so no
thread is left waiting to hold the process's exit (the interpreter joins pool threads)."""

from __future__ import annotations

import threading
from pathlib import Path

from crewyard.durable.runner import CrewRunner, Parked
from crewyard.settings import Settings


def test_work_taken_while_draining_leaves_unstarted_when_the_runner_closes(
    tmp_path: Path,
) -> None:
    runner = CrewRunner(Settings(data_dir=tmp_path))
    assert runner.drain(0.1)  # nothing under way
    outcome: list[BaseException] = []

    def take_work() -> None:
        try:
            runner.admit()
        except BaseException as exc:  # what the durable engine's pool thread would see
            outcome.append(exc)

    thread = threading.Thread(target=take_work)
    thread.start()
    thread.join(0.3)
    assert thread.is_alive() and runner.active == 0  # parked, not started
    runner.close()
    thread.join(5)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Parked)
    assert not isinstance(outcome[0], Exception)  # so no outcome is recorded for it
