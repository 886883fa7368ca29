"""Asking at a terminal, and in a notebook's input box: the question with what it is about,
one line of answer. A terminal question with a timeout takes the default when it passes;
a closed stdin (EOF) means nobody is there, and the question is parked instead."""

from __future__ import annotations

import select
import sys
from typing import IO, Any

from crewyard.human import Question

SHOWN = 4000  # characters of the context shown before the question


def _render(question: Question) -> str:
    where = " · ".join(x for x in (question.task, question.agent) if x)
    context = question.context.strip()
    if len(context) > SHOWN:
        context = context[:SHOWN] + f"\n… ({len(question.context) - SHOWN} more characters)"
    waits = (
        f" (after {question.timeout_s:g} s: {question.default!r})"
        if question.timeout_s is not None
        else ""
    )
    parts = [f"── human input{f' · {where}' if where else ''} ──"]
    if context:
        parts.append(context)
    parts.append(f"{question.prompt}{waits}")
    return "\n".join(parts) + "\n> "


class TerminalHuman:
    """The person at the terminal (stdin a TTY); a timeout takes the question's default."""

    def __init__(self, stdin: IO[str] | None = None, out: IO[str] | None = None) -> None:
        self._in = stdin or sys.stdin
        self._out = out or sys.stderr

    def ask(self, question: Question) -> str | None:
        self._out.write(_render(question))
        self._out.flush()
        if question.timeout_s is not None and not _ready(self._in, question.timeout_s):
            self._out.write(f"\n(no answer in {question.timeout_s:g} s: {question.default!r})\n")
            return question.default or ""
        line = self._in.readline()
        if not line:  # EOF: nobody is there after all
            return None
        return line.rstrip("\r\n")


def _ready(stream: IO[str], timeout_s: float) -> bool:
    try:
        readable, _, _ = select.select([stream], [], [], timeout_s)
    except (OSError, ValueError, TypeError):  # not a selectable file: wait for the line
        return True
    return bool(readable)


class NotebookHuman:
    """A Jupyter kernel's input box (its `input()`); it waits until answered."""

    def __init__(self, read: Any = input) -> None:
        self._read = read

    def ask(self, question: Question) -> str | None:
        print(_render(question).rstrip("> \n"))
        try:
            return str(self._read("> "))
        except EOFError:  # the kernel cannot ask (no frontend): park it
            return None


def in_notebook() -> bool:
    """Running in a Jupyter kernel (whose frontend can show an input box)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    kernel = get() if callable(get) else None
    return kernel is not None and getattr(kernel, "kernel", None) is not None
