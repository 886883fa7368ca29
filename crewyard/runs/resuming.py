"""Resuming a run: the tasks it finished keep their outputs (they are not run again), and within
the rest the calls it already made are answered from its recording (nothing is paid twice); the
first call that differs or was never answered goes to the model, and the new run records
everything in its own cassette, so a run killed again resumes again.

Unlike a replay, a difference is not an error: it is where the old run stopped (or where the
world changed), and from there the run is live. Recorded errors are never played back: the call
that failed is the one a resume is for."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.errors import ConfigError, did_you_mean
from crewyard.gateway.records import Completion
from crewyard.gateway.tapes import NO_TAPE, Replayed, Request, Tape
from crewyard.runs.cassettes import (
    CassettePlayer,
    CassetteWriter,
    Played,
    Recorded,
    cassette_path,
    completion_of,
    request_of,
)
from crewyard.runs.result import TaskOutput
from crewyard.runs.store import RunStore


class ResumingTape:
    """The Tape (and memory cassette) of a resumed run: the old cassette answers while it
    matches, the new one keeps every call."""

    def __init__(self, old: CassettePlayer, writer: CassetteWriter) -> None:
        self.old = old
        self.writer = writer
        self.path = writer.path
        self.reused = 0  # calls answered from the old run
        self._lock = threading.Lock()
        self._streams: dict[tuple[str | None, str | None], deque[Recorded]] = {}
        for entry in old.unused():
            self._streams.setdefault((entry.agent, entry.task), deque()).append(entry)

    def play(self, request: Request) -> Replayed | None:
        live = request_of(request.ref, request.messages, request.options)
        with self._lock:
            stream = self._streams.get((request.agent, request.task))
            if not stream:
                return None
            entry = stream[0]
            if entry.request != live or entry.reply is None or entry.error_kind is not None:
                stream.clear()  # the conversation went another way: its later calls differ too
                return None
            stream.popleft()
            self.reused += 1
        completion = completion_of(entry)
        self.writer.keep(request, completion)  # the new cassette is whole on its own
        note = f"reused call {entry.number} of run {self.old.run_id}"
        return Replayed(entry.alias, entry.model, note, completion)

    def keep(
        self,
        request: Request,
        result: Completion | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.writer.keep(request, result, error)

    def play_memory(self, op: str, args: dict[str, Any]) -> Played | None:
        """What the old run's memory search returned (its prompts are built on it); a search it
        never made is asked of the store."""
        try:
            played = self.old.play_memory(op, args)
        except Exception:
            return None
        self.writer.keep_memory(op, args, played.value)
        return played

    def keep_memory(self, op: str, args: dict[str, Any], result: Any) -> None:
        self.writer.keep_memory(op, args, result)


@dataclass(frozen=True)
class Resumption:
    """What a resumed run takes from the run it continues: the inputs, the finished task
    outputs it keeps (the tasks are not run again), and the recorded calls of the rest."""

    run_id: str  # the run resumed
    crew: str
    inputs: dict[str, Any]
    kept: dict[str, TaskOutput]  # task → its output, in task order
    player: CassettePlayer | None  # the old run's calls, reused while they match
    from_task: str | None = None


def plan_resume(
    store: RunStore,
    cassettes_dir: Path,
    run_id: str,
    tasks: list[str],
    from_task: str | None = None,
) -> Resumption:
    """How to continue run_id: every task before the first unfinished one (or before
    from_task) keeps its output; the calls recorded for the rest are reused unless from_task
    asks for them to be made again."""
    old = store.get(run_id)
    if old.status == "running":
        raise ConfigError(
            f"run {old.id} is still running",
            hint="wait for it, or stop it (Ctrl-C, or kill its process), then resume it",
        )
    finished = {c.task: c for c in store.checkpoints(old.id)}
    if from_task is not None and from_task not in tasks:
        raise ConfigError(
            f"crew {old.crew!r} has no task {from_task!r}",
            key="--from",
            hint=did_you_mean(from_task, tasks) or f"its tasks: {', '.join(tasks)}",
        )
    keep: list[str] = []
    for task in tasks:
        if task == from_task:
            break
        if task not in finished:
            if from_task is not None:
                raise ConfigError(
                    f"run {old.id} has no output of task {task!r}, which comes before "
                    f"{from_task!r}",
                    key="--from",
                    hint=f"resume from {task!r} instead: --from {task}",
                )
            break
        keep.append(task)
    if old.status == "done" and from_task is None and len(keep) == len(tasks):
        raise ConfigError(
            f"run {old.id} is done: every task finished",
            hint=f"rerun from a task with --from TASK ({', '.join(tasks)})",
        )
    kept = {
        t: TaskOutput(t, finished[t].agent, finished[t].output, finished[t].output_file)
        for t in keep
    }
    recorded = cassette_path(cassettes_dir, old.id)
    player = CassettePlayer(recorded) if recorded.is_file() and from_task is None else None
    return Resumption(old.id, old.crew, old.inputs, kept, player, from_task)


@dataclass
class Taping:
    """How a run uses a cassette: not at all, recording one, replaying one, or resuming a run
    (recording, and answering from the old run's while it matches)."""

    writer: CassetteWriter | None = None
    player: CassettePlayer | None = None
    resumed: Resumption | None = None  # the run a resume continues
    tape: Tape = NO_TAPE

    @property
    def old_calls(self) -> CassettePlayer | None:
        """The resumed run's recorded calls, when they are to be reused."""
        return self.resumed.player if self.resumed is not None else None

    def started(self) -> dict[str, Any]:
        """What the run_started event says of it."""
        if self.player is not None:
            return {"replay_of": self.player.run_id, "cassette": str(self.player.path)}
        said: dict[str, Any] = {"cassette": str(self.writer.path)} if self.writer else {}
        if self.resumed is not None:
            said |= {"resume_of": self.resumed.run_id, "kept": list(self.resumed.kept)}
            said |= {"from_task": self.resumed.from_task} if self.resumed.from_task else {}
        return said

    @property
    def memory_cassette(self) -> CassetteWriter | CassettePlayer | ResumingTape | None:
        if isinstance(self.tape, ResumingTape):
            return self.tape
        return self.player or self.writer
