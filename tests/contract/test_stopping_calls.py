"""Gateway.interrupt() (what Ctrl-C calls) cuts the model calls under way short instead of
waiting for their replies — a sync call on an engine's thread, an async one on an event loop,
a generation of the embedded model — and refuses later calls."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crewyard.errors import Interrupted
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.settings import Settings
from tests.conftest import standard_at, write_yaml
from tests.fakellm.server import FakeLLM, Reply

SLOW_REPLY_S = 30.0
ASK = [{"role": "user", "content": "Say something."}]


class InThread:
    """work() on a thread of its own (as CrewAI runs a task): what it returned or raised."""

    def __init__(self, work: Callable[[], Any]) -> None:
        self.outcome: dict[str, Any] = {}
        self.thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[], Any]) -> None:
        try:
            self.outcome["value"] = work()
        except BaseException as exc:
            self.outcome["error"] = exc

    def ended_within(self, seconds: float) -> bool:
        self.thread.join(seconds)
        return not self.thread.is_alive()


def slow_gateway(settings: Settings, monkeypatch: pytest.MonkeyPatch, fake: FakeLLM) -> Gateway:
    fake.add(Reply("too late", latency=SLOW_REPLY_S))
    fake.allow_unused()
    standard_at(settings, fake.url, monkeypatch, num_retries=0, timeout=SLOW_REPLY_S * 2)
    return Gateway(ModelTable.load(settings.models_file))


def wait_for_request(fake: FakeLLM) -> None:
    deadline = time.monotonic() + 60
    while not fake.requests:
        assert time.monotonic() < deadline, "the call never reached the server"
        time.sleep(0.01)


@pytest.mark.parametrize("how", ["sync", "async"])
def test_interrupt_cuts_a_call_waiting_for_its_reply_short(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, fakellm: FakeLLM, how: str
) -> None:
    gateway = slow_gateway(settings, monkeypatch, fakellm)
    run = gateway.for_run()
    call = InThread(
        (lambda: run.complete("standard", ASK))
        if how == "sync"
        else (lambda: asyncio.run(run.acomplete("standard", ASK)))
    )
    wait_for_request(fakellm)
    assert not call.ended_within(0.5)  # it waits for the slow reply…
    gateway.interrupt()
    assert call.ended_within(SLOW_REPLY_S / 3)  # …until interrupted
    assert isinstance(call.outcome.get("error"), Interrupted), call.outcome
    assert run.usage.summary()["calls"] == 0  # nothing came back to record


def test_an_interrupted_gateway_sends_no_more_calls(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, fakellm: FakeLLM
) -> None:
    gateway = slow_gateway(settings, monkeypatch, fakellm)
    gateway.interrupt()
    with pytest.raises(Interrupted):
        gateway.complete("standard", ASK)
    with pytest.raises(Interrupted):
        asyncio.run(gateway.for_run().acomplete("standard", ASK))
    assert fakellm.requests == []


def test_interrupt_stops_the_embedded_model_between_two_tokens(tmp_path: Path) -> None:
    models = {"aliases": {"fast": {"model": "local/smollm2", "temperature": 0}}}
    gateway = Gateway(ModelTable.load(write_yaml(tmp_path / "models.yaml", models), env={}))
    # a JSON array of at least 100 numbers: a generation of thousands of tokens
    long = {
        "type": "json_schema",
        "json_schema": {
            "name": "numbers",
            "schema": {"type": "array", "items": {"type": "integer"}, "minItems": 100},
        },
    }
    pieces: list[str] = []
    ask = [{"role": "user", "content": "List numbers."}]
    call = InThread(
        lambda: gateway.for_run().complete(
            "fast",
            ask,
            max_tokens=4000,
            response_format=long,
            on_chunk=lambda c: pieces.append(c.text),
        )
    )
    deadline = time.monotonic() + 120
    while len(pieces) < 10:  # it is generating (the first tokens come slowly)
        assert call.thread.is_alive(), call.outcome
        assert time.monotonic() < deadline, "the model never started generating"
        time.sleep(0.01)
    gateway.interrupt()
    assert call.ended_within(10)
    assert isinstance(call.outcome.get("error"), Interrupted), call.outcome
    assert len(pieces) < 150  # stopped long before the 100 numbers
