"""`scripted/<name>`: deterministic replies for tests and offline crew checks — a list of texts
in order, or a function of the messages."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from crewyard.errors import CrewyardError
from crewyard.gateway.config import ModelTable
from crewyard.gateway.records import Reply, TextFn

Messages = list[dict[str, Any]]
ReplyFn = Callable[[Messages], str]


class ScriptProblem(CrewyardError):
    """No script by that name, or a script with no reply left: the test or the crew is wrong,
    not the model, so the gateway never retries it."""

    status_code = 400


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
                raise ScriptProblem(
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


class ScriptedProvider:
    """The Provider for `scripted/…` aliases: models.yaml's `script:` lists, plus scripts a
    test registers on its gateway."""

    free = True

    def __init__(self, table: ModelTable) -> None:
        self.scripts: dict[str, Script] = {}
        for alias in table.aliases.values():
            prefix, _, name = alias.model.partition("/")
            if prefix == "scripted" and alias.script is not None:
                self.register(name, alias.script)

    def register(self, name: str, replies: Sequence[str] | ReplyFn) -> Script:
        self.scripts[name] = Script(name, replies)
        return self.scripts[name]

    def complete(self, model: str, messages: Messages, options: dict[str, Any]) -> Reply:
        return self.stream(model, messages, options, None)

    def stream(
        self, model: str, messages: Messages, options: dict[str, Any], on_text: TextFn | None
    ) -> Reply:
        """complete(), the reply streamed word by word (its spaces kept) to on_text."""
        script = self.scripts.get(model)
        if script is None:
            raise ScriptProblem(
                f"no script named {model!r}: give the alias a `script:` list in models.yaml "
                "or call Gateway.register_script()"
            )
        text = script.reply(messages)
        if on_text is not None:
            for piece in re.findall(r"\s*\S+|\s+$", text):
                on_text(piece)
        prompt = sum(approx_tokens(str(m.get("content") or "")) for m in messages)
        return Reply(text, f"scripted/{model}", prompt, approx_tokens(text))

    async def acomplete(self, model: str, messages: Messages, options: dict[str, Any]) -> Reply:
        return self.complete(model, messages, options)

    async def astream(
        self, model: str, messages: Messages, options: dict[str, Any], on_text: TextFn | None
    ) -> Reply:
        return self.stream(model, messages, options, on_text)

    def count_tokens(self, model: str, text: str) -> int:
        return approx_tokens(text)

    def context_window(self, model: str) -> int:
        return 8192

    def capabilities(self, model: str) -> dict[str, bool]:
        return {
            "vision": False,
            "function_calling": False,
            "json_output": False,
            "structured_output": False,
        }
