"""Streamed replies as people see them: each call's text as it arrives, headed by its agent and
task (the console's `--stream`, and the live view under a notebook cell). A retry or fallback
after a partial reply streams again from the start: that is said, never silently printed twice."""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from typing import Any

from crewyard.runs.events import Event, EventKind, Listener


class StreamPrinter:
    """Writes MODEL_CHUNK events through write(), one block per call and attempt."""

    def __init__(self, write: Callable[[str], object]) -> None:
        self.write = write
        self._open: tuple[int, int] | None = None  # the (call, attempt) being written
        self._attempts: dict[int, int] = {}  # call → the last attempt that streamed

    def chunk(self, d: dict[str, Any]) -> None:
        key = (int(d["call"]), int(d["attempt"]))
        if self._open != key:
            self.end()
            before = self._attempts.get(key[0])
            if before is not None and before != key[1]:
                self.write(
                    f"  ↻ attempt {key[1]} starts the reply again: "
                    f"the text of attempt {before} above is not used\n"
                )
            who = d.get("agent") or d.get("alias") or "model"
            task = f" · {d['task']}" if d.get("task") else ""
            self.write(f"  {who}{task} ▸ ")
            self._attempts[key[0]] = key[1]
            self._open = key
        self.write(str(d.get("text") or ""))

    def call_ended(self, d: dict[str, Any]) -> None:
        """A MODEL_CALL event: the block being written ends (a failed attempt says so)."""
        if self._open is None:
            return
        self.end()
        if d.get("error"):
            why = str(d["error"]).splitlines()[0][:160]
            attempt = d.get("attempt")
            self.write(f"  ✗ attempt {attempt} failed ({why}): its text above is not used\n")

    def end(self) -> None:
        if self._open is not None:
            self.write("\n")
            self._open = None


class AskingForChunks:
    """An on_event function that also gets the MODEL_CHUNK events (stream=True)."""

    wants_chunks = True

    def __init__(self, fn: Listener) -> None:
        self.fn = fn

    def __call__(self, event: Event) -> None:
        self.fn(event)


class NotebookView:
    """`crewyard.run(..., stream=True)` in Jupyter: one output under the cell, updated in place
    with the run's milestones and each agent's reply as it streams."""

    wants_chunks = True
    MAX_CHARS = 20_000  # the view keeps the end of a long run
    EVERY_S = 0.1  # at most this often while text streams

    def __init__(self, cell: Any) -> None:
        self.cell = cell
        self.text = io.StringIO()
        self.printer = StreamPrinter(self.text.write)
        self._shown = 0.0

    def __call__(self, event: Event) -> None:
        d = event.data
        if event.kind == EventKind.MODEL_CHUNK:
            self.printer.chunk(d)
            if time.monotonic() - self._shown < self.EVERY_S:
                return
        elif event.kind == EventKind.MODEL_CALL:
            self.printer.call_ended(d)
        elif (line := milestone(event)) is not None:
            self.printer.end()
            self.text.write(line + "\n")
        self.show()

    def show(self) -> None:
        self._shown = time.monotonic()
        self.cell.update({"text/plain": self.text.getvalue()[-self.MAX_CHARS :]}, raw=True)


def milestone(event: Event) -> str | None:
    """The line a run's milestone shows as, in plain text (None: not a milestone)."""
    d = event.data
    if event.kind == EventKind.RUN_STARTED:
        return f"▶ {d.get('crew')} run {event.run_id} on {d.get('engine')}"
    if event.kind == EventKind.TASK_STARTED:
        return f"  … {d.get('agent')} is working on {d.get('task')}"
    if event.kind == EventKind.TASK_FINISHED:
        return f"  ✓ {d.get('task')} done"
    if event.kind == EventKind.ERROR:
        return f"  ✗ {d.get('message')}"
    if event.kind == EventKind.RUN_FINISHED:
        return f"■ {d.get('status')} in {d.get('duration_s')} s, {d.get('total_tokens')} tokens"
    return None


def notebook_cell(first: str) -> Any:
    """A display handle under the running cell, when this runs in a Jupyter kernel."""
    if sys.modules.get("IPython") is None or "ipykernel" not in sys.modules:
        return None
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is None:
            return None
        return display({"text/plain": first}, raw=True, display_id=True)  # type: ignore[no-untyped-call]
    except Exception:  # no usable display: the run goes on without a live view
        return None
