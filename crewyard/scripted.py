"""Scripted replies: deterministic model answers for tests and offline crew checks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from crewyard.errors import CrewyardError

Messages = list[dict[str, Any]]
ReplyFn = Callable[[Messages], str]


class ScriptExhausted(CrewyardError):
    """A scripted model was called more times than it has replies."""


class Script:
    """Replies in order (a list of texts) or computed from the messages (a callable)."""

    def __init__(self, name: str, replies: Sequence[str] | ReplyFn) -> None:
        self.name = name
        self._fn = replies if callable(replies) else None
        self._replies = list(replies) if not callable(replies) else []
        self._next = 0
        self._lock = threading.Lock()
        self.calls: list[Messages] = []

    def reply(self, messages: Messages) -> str:
        with self._lock:
            self.calls.append(messages)
            if self._fn is not None:
                return self._fn(messages)
            if self._next >= len(self._replies):
                raise ScriptExhausted(
                    f"scripted model {self.name!r} has no reply left "
                    f"(call {self._next + 1}, script has {len(self._replies)})"
                )
            self._next += 1
            return self._replies[self._next - 1]

    @property
    def unused(self) -> int:
        return 0 if self._fn is not None else len(self._replies) - self._next


def approx_tokens(text: str) -> int:
    """Token estimate for scripted replies (about four characters a token)."""
    return max(1, (len(text) + 3) // 4) if text else 0
