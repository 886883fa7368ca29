"""Ctrl-C while a crew runs: the first stops the run now — the model calls under way are cut
short, the run is recorded as interrupted with its finished task outputs, and the command
exits 130 — and a second exits at once, without waiting for anything."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import NoReturn

from crewyard.errors import ExitCode


@dataclass
class CtrlC:
    signals: int = 0  # SIGINTs received while inside ctrl_c_stops


@contextlib.contextmanager
def ctrl_c_stops(stop: Callable[[], None]) -> Iterator[CtrlC]:
    """While inside: SIGINT calls stop() (which cuts the model calls short, from any thread)
    and raises KeyboardInterrupt in the main thread, as Python's own handler does; a second
    SIGINT ends the process with exit code 130. Outside the main thread: nothing changes."""
    seen = CtrlC()
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        seen.signals += 1
        if seen.signals > 1:
            os.write(2, b"\ninterrupted again: exiting now\n")
            os._exit(ExitCode.INTERRUPTED)
        print("\nstopping the run (Ctrl-C again exits at once)", file=sys.stderr, flush=True)
        stop()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def exit_now(code: int) -> NoReturn:
    """End the process after a Ctrl-C without tearing down every module it imported (a
    second and more with the engines' libraries): exit handlers run, streams are flushed."""
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
