"""How a run ended, told from the exception that stopped it: its status (failed, stopped at
its budget, parked waiting for a human) and the most telling error, in a line or two."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crewyard.errors import BudgetExceeded, CrewyardError, ExitCode
from crewyard.human import WaitingForInput

if TYPE_CHECKING:
    from crewyard.runs.result import RunResult

INTERRUPTED = "stopped by the user (Ctrl-C)"


class RunFailed(CrewyardError):
    """The run started but did not finish; .result holds what it produced before failing."""

    def __init__(self, message: str, result: RunResult) -> None:
        super().__init__(message)
        self.result = result


class RunWaiting(RunFailed):
    """The run is parked, waiting for a human's answer (`runs answer RUN_ID …`)."""

    exit_code = ExitCode.WAITING


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped the run (recorded as interrupted); .result holds what it finished."""

    def __init__(self, message: str, result: RunResult) -> None:
        super().__init__(message)
        self.result = result


def status_of(failure: BaseException) -> str:
    if isinstance(failure, WaitingForInput):
        return "waiting_for_input"
    return "budget_exceeded" if isinstance(failure, BudgetExceeded) else "failed"


def telling(exc: BaseException, raised: list[CrewyardError]) -> BaseException:
    """The most telling error: ours (model, budget, config) beat their wrappers — found in the
    exception's chain, or, when an engine wrapped ours as text (AutoGen does), the error the
    run's gateway raised that the wrapper quotes."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, CrewyardError):
            return seen
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return next((err for err in reversed(raised) if str(err) in text), exc)


def without_traceback(failure: BaseException) -> str:
    """What went wrong, without the traceback an engine may have put in its message."""
    text = (
        str(failure)
        if isinstance(failure, CrewyardError)
        else f"{type(failure).__name__}: {failure}"
    )
    cut = text.find("Traceback (most recent call last)")
    if cut > 0:
        text = text[:cut].rstrip(" \n:") or text
    return text.strip()
