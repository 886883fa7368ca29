"""One root error; each subclass says what went wrong, where, and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """What `python main.py` exits with."""

    OK = 0
    FAILED = 1  # a run failed, or stopped at its budget
    BAD_INPUT = 2  # a bad command, crew file, models.yaml or input
    WAITING = 3  # the run is parked, waiting for a human's answer (`runs answer`)
    INTERRUPTED = 130  # Ctrl-C
    CLOSED_OUTPUT = 141  # the reader of the output went away (`… | head`), as after SIGPIPE


class CrewyardError(Exception):
    """Root of every error crewyard raises on purpose."""

    exit_code = ExitCode.FAILED


class ConfigError(CrewyardError):
    """A crew file, models.yaml or a command-line value is wrong. Exit code 2."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: Path | str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.key = key
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "")
        parts = [f"{where}: " if where else ""]
        if self.key:
            parts.append(f"{self.key}: ")
        parts.append(self.message)
        text = "".join(parts)
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class InputError(ConfigError):
    """A crew input is missing or has the wrong type."""


class EngineError(CrewyardError):
    """The engine (CrewAI, AutoGen) failed while running a crew."""


class ModelError(CrewyardError):
    """A model call failed after the gateway's retries; names the alias and the provider error."""

    def __init__(self, alias: str, model: str, detail: str) -> None:
        self.alias = alias
        self.model = model
        self.detail = detail
        super().__init__(f"model alias {alias!r} ({model}) failed: {detail}")


class GuardrailFailed(CrewyardError):
    """A task's output still failed its guardrails after every retry."""


class BudgetExceeded(CrewyardError):
    """The run's token or dollar budget would be passed by the next model call."""


class ReplayMismatch(CrewyardError):
    """A replayed run asked for something its cassette does not hold: a request that differs
    from the recorded one (the message carries a diff), or more or fewer calls than recorded."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A 'did you mean …' hint for a misspelt name, or None when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


class Interrupted(KeyboardInterrupt):
    """The model calls were stopped (Ctrl-C): a call under way was cut short, not waited for.
    A KeyboardInterrupt, so that no engine's `except Exception` takes it for a failed call."""
