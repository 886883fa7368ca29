"""Record and replay as the gateway sees them: every run has a Tape — none, recording, or
replaying (the last two are cassettes, in crewyard/runs/cassettes.py). The gateway asks the
tape first (a replaying tape answers every call, and no model is called) and then tells it how
the call ended (a recording tape keeps the final reply, or the error that ended the call)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from crewyard.errors import CrewyardError
from crewyard.gateway.records import Completion


@dataclass(frozen=True)
class Request:
    """One model call as asked: what a tape records and matches."""

    ref: str  # the alias, model string or `auto` the caller named
    messages: list[dict[str, Any]]
    options: dict[str, Any] = field(default_factory=dict)
    agent: str | None = None
    task: str | None = None


@dataclass(frozen=True)
class Replayed:
    """A recorded call, answered again: its reply, or the error that ended it."""

    alias: str
    model: str
    note: str  # which recorded call answered, for the run's records
    completion: Completion | None = None
    error: CrewyardError | None = None  # a model error, or a budget refusal (never recorded)


class Tape(Protocol):
    def play(self, request: Request) -> Replayed | None:
        """The recorded answer when replaying (a mismatch raises ReplayMismatch), else None."""
        ...

    def keep(
        self,
        request: Request,
        result: Completion | None = None,
        error: BaseException | None = None,
    ) -> None:
        """How a call ended: its final reply, or the error that ended it."""
        ...


class NoTape:
    """A run that neither records nor replays."""

    def play(self, request: Request) -> Replayed | None:
        return None

    def keep(
        self,
        request: Request,
        result: Completion | None = None,
        error: BaseException | None = None,
    ) -> None:
        return None


NO_TAPE = NoTape()
