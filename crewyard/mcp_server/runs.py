"""A crew run for an MCP tool call: in a thread of its own (the engines are synchronous), its
task events passed to the caller as progress, and a stop the caller can ask for.

Stopping: the run's event listener raises KeyboardInterrupt in the run's thread at the next
event the engine emits (a model call answered, a task started or finished, an agent turn), so
the dispatcher records the run as interrupted with the task outputs finished by then. A model
call already under way is not cut short: the run stops when it returns."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crewyard.runs.events import Event, EventKind

if TYPE_CHECKING:
    from crewyard.crews.spec import CrewSpec
    from crewyard.dispatcher import Dispatcher
    from crewyard.runs.result import RunResult

# events the dispatcher emits outside the engine's try: stopping there would leave no record
_NOT_STOPPABLE = {
    EventKind.RUN_STARTED,
    EventKind.MEMORY_RECALLED,
    EventKind.ERROR,
    EventKind.MEMORY_STORED,
    EventKind.RUN_FINISHED,
}


class Stopped(KeyboardInterrupt):
    """Raised in a run's thread when its MCP call was cancelled."""


@dataclass
class Step:
    """One progress step: a task started or finished."""

    progress: int
    total: int | None
    message: str


@dataclass(eq=False)  # one run is itself only: kept in a set
class CrewRun:
    """One crew run on its thread. on_step is called on the run's thread (keep it quick);
    on_done once, on the run's thread, when the run has ended either way."""

    spec: CrewSpec
    inputs: dict[str, Any]
    on_step: Callable[[Step], None]
    on_done: Callable[[], None]
    run_id: str | None = None
    result: RunResult | None = None
    error: BaseException | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _steps: int = 0
    _thread: threading.Thread | None = None

    def listener(self, event: Event) -> None:
        if event.kind is EventKind.RUN_STARTED:
            self.run_id = event.run_id
        if self._stop.is_set() and event.kind not in _NOT_STOPPABLE:
            raise Stopped
        if event.kind in (EventKind.TASK_STARTED, EventKind.TASK_FINISHED):
            self._steps += 1
            total = 2 * len(self.spec.tasks)
            verb = "started" if event.kind is EventKind.TASK_STARTED else "finished"
            task, agent = event.data.get("task"), event.data.get("agent")
            self.on_step(
                Step(
                    self._steps,
                    total if self._steps <= total else None,
                    f"task {task} ({agent}) {verb}",
                )
            )

    def start(self, dispatcher: Dispatcher) -> None:
        self._thread = threading.Thread(
            target=self._work, args=(dispatcher,), name=f"mcp-run-{self.spec.name}", daemon=True
        )
        self._thread.start()

    def _work(self, dispatcher: Dispatcher) -> None:
        try:
            self.result = dispatcher.run(self.spec, self.inputs)
        except BaseException as exc:  # told to the caller, which turns it into an MCP error
            self.error = exc
        finally:
            try:
                dispatcher.close()
            finally:
                self.on_done()

    def stop(self) -> None:
        """Ask the run to stop at its next event."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the run's thread; whether it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True
