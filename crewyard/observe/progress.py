"""Live progress on the terminal: who is working on which task, calls and tokens so far, and
with stream=True each agent's reply as it is generated (observe/streaming.py)."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.status import Status

from crewyard.observe.console import animates, make_console
from crewyard.observe.streaming import NotebookView, StreamPrinter, notebook_cell
from crewyard.runs.events import Event, EventKind, Listener


class Progress:
    """An event listener that keeps one status line and prints task milestones; with
    stream=True it prints the replies as they stream instead of the status line."""

    def __init__(
        self, console: Console | None = None, *, stream: bool = False, quiet: bool = False
    ) -> None:
        self.console = console or make_console()
        self.calls = 0
        self.tokens = 0
        self.current = ""
        self._status: Status | None = None
        self.wants_chunks = stream
        self.quiet = quiet  # the streamed replies only
        self.printer = StreamPrinter(self._write)

    def _write(self, text: str) -> None:  # the model's text as it is: no markup, no wrapping
        self.console.file.write(text)
        self.console.file.flush()

    def __enter__(self) -> Progress:
        if animates(self.console) and not self.wants_chunks:
            self._status = self.console.status("starting…")
            self._status.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.printer.end()
        if self._status is not None:
            self._status.stop()

    def __call__(self, event: Event) -> None:
        d = event.data
        if event.kind == EventKind.MODEL_CHUNK:
            self.printer.chunk(d)
            return
        if event.kind != EventKind.MODEL_CALL:
            self.printer.end()
        if self.quiet and event.kind != EventKind.MODEL_CALL:
            return
        if event.kind == EventKind.RUN_STARTED:
            replay = f", replaying run {d['replay_of']}" if d.get("replay_of") else ""
            self.console.print(
                f"[bold]▶ {d.get('crew')}[/] run [cyan]{event.run_id}[/] on {d.get('engine')}"
                + replay
            )
        elif event.kind == EventKind.TASK_STARTED:
            self.console.print(f"  [yellow]…[/] {d.get('agent')} is working on {d.get('task')}")
        elif event.kind == EventKind.TASK_FINISHED:
            saved = f" → {d['output_file']}" if d.get("output_file") else ""
            self.console.print(f"  [green]✓[/] {d.get('task')} done{saved}")
        elif event.kind == EventKind.GUARDRAIL_FAILED:
            then = "trying again" if d.get("retries_left") else "no retry left"
            checks = ", ".join(d.get("checks") or [])
            task, attempt = d.get("task"), d.get("attempt")
            self.console.print(f"  [yellow]↻[/] {task} failed {checks} (attempt {attempt}); {then}")
        elif event.kind == EventKind.MODEL_CALL:
            self.printer.call_ended(d)
            self.calls += 1
            self.tokens += int(d.get("prompt_tokens") or 0) + int(d.get("completion_tokens") or 0)
        elif event.kind == EventKind.HUMAN_ASKED and self._status is not None:
            self._status.stop()  # the question has the terminal to itself
        elif event.kind == EventKind.HUMAN_ANSWERED and self._status is not None:
            self._status.start()
        elif event.kind == EventKind.ERROR:
            self.console.print(f"  [red]✗[/] {d.get('message')}")
        if event.kind in (EventKind.AGENT_TURN, EventKind.TASK_STARTED):
            self.current = f"{d.get('agent')} · {d.get('task')}"
        if self._status is not None:
            self._status.update(f"{self.current} · {self.calls} model calls · {self.tokens} tokens")


class BatchProgress:
    """A batch's live status: done, failed, running, ETA, tokens, cost — a status line on a
    terminal, a line updated in place in a notebook, nothing elsewhere (a pipe, a log)."""

    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        self.console = console or make_console()
        self.enabled = enabled
        self._status: Status | None = None
        self._cell: Any = None  # the notebook's display handle
        self._started = time.monotonic()
        self.last = ""

    def __enter__(self) -> BatchProgress:
        if not self.enabled:
            return self
        self._cell = notebook_cell("starting the batch…")
        if self._cell is None and animates(self.console):
            self._status = self.console.status("starting the batch…")
            self._status.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, counts: dict[str, Any]) -> None:
        finished = counts["done"] + counts["failed"] + counts["skipped"]
        elapsed = time.monotonic() - self._started
        left = counts["items"] - finished
        eta = f" · about {elapsed / finished * left:.0f} s left" if finished and left else ""
        self.last = (
            f"{finished}/{counts['items']} items: {counts['done']} done, {counts['failed']} "
            f"failed, {counts['running']} running{eta} · {counts['tokens']} tokens · "
            f"${counts['cost_usd']:.4f}"
        )
        if self._status is not None:
            self._status.update(self.last)
        elif self._cell is not None:
            self._cell.update({"text/plain": self.last}, raw=True)


def live_view() -> Listener:
    """stream=True's view: under the cell in Jupyter, else the console's progress on stderr."""
    cell = notebook_cell("starting…")
    return NotebookView(cell) if cell is not None else Progress(stream=True)
