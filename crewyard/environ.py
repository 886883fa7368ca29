"""The process environment, which belongs to whoever runs crewyard: the library never changes it.

Some libraries read a variable once, while they are imported (LiteLLM fetches its price list
from the network unless LITELLM_LOCAL_MODEL_COST_MAP is set; CrewAI builds its telemetry at
import), and some set variables of their own then (CrewAI: TOKENIZERS_PARALLELISM).
`while_importing` sets ours for the import alone and puts the caller's environment back as it
was. Reading `.env` into the environment is the command line's choice, never the library's
(`load_dotenv_file`)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

_lock = threading.Lock()
# Seconds each big library took to import in this process (its first import only; a library
# imported inside another's import counts for itself alone): the start-up line of `-v` says
# where a run's first seconds went.
IMPORT_SECONDS: dict[str, float] = {}
_importing = threading.local()  # .frames: per import under way, [its start, nested imports' time]


@contextmanager
def while_importing(defaults: Mapping[str, str]) -> Iterator[None]:
    """Set each variable the caller has not set, for the body only; then put the whole
    environment back as it was (whatever the imported library set goes too)."""
    with _lock:
        saved = dict(os.environ)
        for key, value in defaults.items():
            os.environ.setdefault(key, value)
        try:
            yield
        finally:
            for key in [k for k in os.environ if k not in saved]:
                del os.environ[key]
            for key, value in saved.items():
                if os.environ.get(key) != value:
                    os.environ[key] = value


@contextmanager
def imported(library: str) -> Iterator[None]:
    """Time the body as library's import (kept only the first time, when it really loads)."""
    frames: list[list[float]] = _importing.__dict__.setdefault("frames", [])
    frame = [time.perf_counter(), 0.0]
    frames.append(frame)
    try:
        yield
    finally:
        frames.pop()
        took = time.perf_counter() - frame[0]
        if frames:
            frames[-1][1] += took
        if took > 0.001:
            IMPORT_SECONDS.setdefault(library, took - frame[1])


def load_dotenv_file(path: Path = Path(".env")) -> None:
    """Put a .env file's variables (provider keys: OPENAI_API_KEY, …) into the environment,
    where LiteLLM and models.yaml's api_key_env look; variables already set win. The CLI calls
    this; notebooks and other programs pass settings and keys themselves."""
    from dotenv import load_dotenv

    load_dotenv(path, override=False)


@contextmanager
def settled() -> Iterator[Mapping[str, str]]:
    """The caller's environment, held still: no `while_importing` changes it meanwhile (one
    that runs in another thread waits), so what is read here is never a library's default
    (OpenTelemetry's SDK reads OTEL_SDK_DISABLED, which CrewAI's import sets for itself)."""
    with _lock:
        yield os.environ
