"""Resuming a run from its cassette: the calls it already made are answered from the recording
(nothing is paid twice), the first call that differs or was never answered goes to the model,
and the new run records everything in its own cassette, so a run killed again resumes again.

Unlike a replay, a difference is not an error: it is where the old run stopped (or where the
world changed), and from there the run is live. Recorded errors are never played back: the call
that failed is the one a resume is for."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from crewyard.gateway.records import Completion
from crewyard.gateway.tapes import Replayed, Request
from crewyard.runs.cassettes import (
    CassettePlayer,
    CassetteWriter,
    Played,
    Recorded,
    completion_of,
    request_of,
)


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
