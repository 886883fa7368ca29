"""Whether runs are traced, and the light handles the rest of crewyard holds: a parent span for
a batch or a schedule's firing, the parent a run starts under. OpenTelemetry itself is loaded
(by observe/tracing.py) only once tracing is asked for — by the standard OTEL_* variables, or
by the command line's -v — so a process that traces nothing never imports it.

A parent travels as a W3C trace-context carrier ({"traceparent": …}): plain strings, which
cross threads and could cross processes."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from crewyard.environ import settled

if TYPE_CHECKING:
    from crewyard.observe.tracing import Tracing
    from crewyard.runs.events import Listener

Carrier = Mapping[str, str]

# what makes the SDK export: an exporter named, or an OTLP endpoint given
_EXPORTING = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_PARENT: ContextVar[Carrier | None] = ContextVar("crewyard_trace_parent", default=None)
_lock = threading.Lock()
_console = False  # the command line's -v
_tracing: Tracing | None = None  # made on first use once wanted, or installed
_decided = False


def wanted(environ: Mapping[str, str] | None = None, console: bool = False) -> bool:
    """Whether the environment asks for traces (OTEL_TRACES_EXPORTER other than none, or an
    OTLP endpoint), or console is; OTEL_SDK_DISABLED=true turns every one off."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return any(e.strip() not in ("", "none") for e in exporters.split(","))
    return console or any(env.get(name, "").strip() for name in _EXPORTING)


def enable_console() -> None:
    """The command line's -v: spans are printed on stderr too, when no exporter is named."""
    global _console, _decided
    with _lock:
        _console, _decided = True, False


def install(tracing: Tracing | None) -> None:
    """Trace the runs of this process with this Tracing (tests, notebooks with their own
    provider); None: back to what the environment says."""
    global _tracing, _decided
    if tracing is not None:
        tracing.listener.parent_of = current  # runs go under the parents `span` opens
    with _lock:
        _tracing, _decided = tracing, tracing is not None


def active() -> Tracing | None:
    """The process's Tracing, made the first time it is wanted; None when nothing asks."""
    global _tracing, _decided
    with _lock:
        if not _decided:
            _decided = True
            # read while no library import changes the environment (CrewAI's sets
            # OTEL_SDK_DISABLED for itself): what counts is what the caller set
            with settled() as env:
                if _tracing is None and wanted(env, console=_console):
                    from crewyard.observe.tracing import from_environment

                    _tracing = from_environment(console=_console, parent_of=current)
        return _tracing


def listeners() -> list[Listener]:
    """The event listener that turns a run's events into spans, when tracing is on."""
    tracing = active()
    return [] if tracing is None else [tracing.listener]


def current() -> Carrier | None:
    """The parent a run started here goes under (a batch's, a firing's), if any."""
    return _PARENT.get()


@contextmanager
def under(parent: Carrier | None) -> Iterator[None]:
    """Runs started in the body go under parent (nothing changes for None)."""
    if parent is None:
        yield
        return
    token = _PARENT.set(parent)
    try:
        yield
    finally:
        _PARENT.reset(token)


@contextmanager
def span(name: str, attributes: dict[str, Any]) -> Iterator[Carrier | None]:
    """A parent span (a batch, a schedule's firing) for the body, under the current parent;
    yields its carrier, or None (and costs nothing) when tracing is off."""
    tracing = active()
    if tracing is None:
        yield None
        return
    with tracing.span(name, attributes, current()) as carrier, under(carrier):
        yield carrier


def flush(timeout_ms: int = 5_000) -> None:
    """Send the spans still buffered — before os._exit, which skips the exporters' own flush
    at exit; nothing to do when no Tracing was made."""
    with _lock:
        tracing = _tracing
    if tracing is not None:
        tracing.flush(timeout_ms)
