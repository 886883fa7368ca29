"""Streaming through the gateway, without a real model: a streamed call is the same call (the
same reply, usage, records, cache and tape), its pieces reach the chunk listeners and never the
run store, a retry after a partial reply is marked, and nothing streams when nobody listens."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

from crewyard.gateway import CallRecord, Gateway
from crewyard.gateway.cache import ResponseCache
from crewyard.gateway.config import ModelTable
from crewyard.gateway.records import Chunk, Completion, Reply, TextFn
from crewyard.observe.progress import Progress
from crewyard.observe.streaming import StreamPrinter
from crewyard.runs.events import Event, EventKind, EventSink
from tests.conftest import write_yaml

HI = [{"role": "user", "content": "hi"}]
TEXT = "Solar  storage keeps\nthe evening lit. "


def gateway(tmp_path: Path, cache: bool = False, **alias: Any) -> Gateway:
    aliases = {"fast": {"model": "scripted/s", "temperature": 0, **alias}}
    path = write_yaml(tmp_path / "models.yaml", {"aliases": aliases})
    return Gateway(ModelTable.load(path, env={}), ResponseCache(tmp_path / "c") if cache else None)


def test_a_streamed_call_gives_the_same_reply_usage_and_records(tmp_path: Path) -> None:
    gw = gateway(tmp_path)
    gw.register_script("s", [TEXT, TEXT])
    whole_records: list[CallRecord] = []
    streamed_records: list[CallRecord] = []
    whole = gw.for_run(on_record=whole_records.append).complete("fast", HI, agent="a", task="t")
    chunks: list[Chunk] = []
    run = gw.for_run(on_record=streamed_records.append, on_chunk=chunks.append)
    streamed = run.complete("fast", HI, agent="a", task="t")
    assert len(chunks) == 7 and "".join(c.text for c in chunks) == TEXT == streamed.text
    assert {(c.agent, c.task, c.alias, c.call, c.attempt, c.whole) for c in chunks} == {
        ("a", "t", "fast", 1, 1, False)
    }
    same = ("text", "prompt_tokens", "completion_tokens", "cost_usd", "model", "finish_reason")
    assert [getattr(streamed, k) for k in same] == [getattr(whole, k) for k in same]
    assert len(streamed_records) == len(whole_records) == 1
    assert streamed_records[0].completion_tokens == whole_records[0].completion_tokens


def test_a_call_of_its_own_streams_to_its_caller_and_calls_are_numbered(tmp_path: Path) -> None:
    gw = gateway(tmp_path)
    gw.register_script("s", ["one two", "three four"])
    run_wide: list[Chunk] = []
    mine: list[Chunk] = []
    run = gw.for_run(on_chunk=run_wide.append)
    run.complete("fast", HI)
    run.complete("fast", HI, on_chunk=mine.append)
    assert [c.text for c in mine] == ["three", " four"]
    assert [(c.call, c.text) for c in run_wide] == [
        (1, "one"),
        (1, " two"),
        (2, "three"),
        (2, " four"),
    ]


class Served:
    """What the gateway asks of every provider besides replies."""

    free = True

    def context_window(self, model: str) -> int:
        return 8192


class Spy(Served):
    """A provider that says how it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def complete(self, model: str, messages: Any, options: Any) -> Reply:
        self.asked.append("complete")
        return Reply("one two", f"spy/{model}", 2, 2)

    def stream(self, model: str, messages: Any, options: Any, on_text: TextFn | None) -> Reply:
        self.asked.append("stream")
        return self.complete(model, messages, options)


def test_nothing_streams_when_nobody_listens(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "m.yaml", {"aliases": {"fast": {"model": "spy/x"}}})
    gw = Gateway(ModelTable.load(path, env={}))
    spy = gw.providers["spy"] = Spy()  # type: ignore[assignment]
    gw.for_run().complete("fast", HI)
    gw.for_run(on_chunk=lambda c: None).complete("fast", HI)
    assert spy.asked == ["complete", "stream", "complete"]


def test_a_cache_hit_and_a_provider_that_cannot_stream_come_as_one_piece(tmp_path: Path) -> None:
    gw = gateway(tmp_path, cache=True)
    gw.register_script("s", ["fresh reply"])
    chunks: list[Chunk] = []
    first = gw.for_run(on_chunk=chunks.append).complete("fast", HI)
    again = gw.for_run(on_chunk=chunks.append).complete("fast", HI)  # from the cache
    assert first.text == again.text == "fresh reply"
    assert [(c.text, c.whole) for c in chunks][-1] == ("fresh reply", True)

    class Whole(Served):  # a third party's provider with no stream()
        def complete(self, model: str, messages: Any, options: Any) -> Reply:
            return Reply("all at once", f"whole/{model}", 3, 3)

    gw.providers["whole"] = Whole()  # type: ignore[assignment]
    mine: list[Chunk] = []
    path = write_yaml(tmp_path / "w.yaml", {"aliases": {"w": {"model": "whole/x"}}})
    gw.table = ModelTable.load(path, env={})
    assert gw.for_run(on_chunk=mine.append).complete("w", HI).text == "all at once"
    assert [(c.text, c.whole) for c in mine] == [("all at once", True)]


class Flaky(Served):
    """Streams half a reply, then drops the connection; the next attempt streams it all."""

    def __init__(self) -> None:
        self.attempts = 0

    def complete(self, model: str, messages: Any, options: Any) -> Reply:
        return self.stream(model, messages, options, None)

    def stream(self, model: str, messages: Any, options: Any, on_text: TextFn | None) -> Reply:
        self.attempts += 1
        if on_text is not None:
            on_text("The first")
        if self.attempts == 1:
            raise ConnectionError("connection reset mid-stream")
        if on_text is not None:
            on_text(" answer.")
        return Reply("The first answer.", f"flaky/{model}", 4, 4)


def test_a_retry_after_a_partial_stream_is_marked_not_printed_twice_silently(
    tmp_path: Path,
) -> None:
    path = write_yaml(
        tmp_path / "m.yaml",
        {"aliases": {"fast": {"model": "flaky/x", "num_retries": 1, "retry_backoff_s": 0}}},
    )
    gw = Gateway(ModelTable.load(path, env={}))
    gw.providers["flaky"] = Flaky()  # type: ignore[assignment]
    out = io.StringIO()
    printer = StreamPrinter(out.write)
    records: list[CallRecord] = []

    def on_record(call: CallRecord) -> None:
        records.append(call)
        printer.call_ended({"error": call.error, "attempt": call.attempt})

    chunks: list[Chunk] = []

    def on_chunk(chunk: Chunk) -> None:
        chunks.append(chunk)
        printer.chunk(vars(chunk))

    reply = gw.for_run(on_record=on_record, on_chunk=on_chunk).complete("fast", HI, agent="a")
    assert reply.text == "The first answer." and reply.attempts == 2
    assert [(c.attempt, c.text) for c in chunks] == [
        (1, "The first"),
        (2, "The first"),
        (2, " answer."),
    ]
    assert [r.error is None for r in records] == [False, True]
    assert out.getvalue().splitlines() == [
        "  a ▸ The first",
        "  ✗ attempt 1 failed (ConnectionError: connection reset mid-stream): "
        "its text above is not used",
        "  ↻ attempt 2 starts the reply again: the text of attempt 1 above is not used",
        "  a ▸ The first answer.",
    ]


def test_astream_yields_the_chunks_then_the_completion(tmp_path: Path) -> None:
    gw = gateway(tmp_path)
    gw.register_script("s", ["one two three"])

    async def read() -> list[Chunk | Completion]:
        return [item async for item in gw.for_run().astream("fast", HI, agent="a")]

    items = asyncio.run(read())
    assert [i.text for i in items[:-1] if isinstance(i, Chunk)] == ["one", " two", " three"]
    assert isinstance(items[-1], Completion) and items[-1].text == "one two three"


class Store:
    def __init__(self) -> None:
        self.rows: list[str] = []

    def event(self, run_id: str, kind: str, data: Any, seq: int) -> None:
        self.rows.append(kind)


def test_chunks_reach_the_listeners_that_ask_and_never_the_run_store() -> None:
    store = Store()
    plain: list[Event] = []
    progress = Progress(stream=True)
    out = io.StringIO()
    progress.console.file = out
    sink = EventSink("r1", "demo", store, [plain.append, progress])  # type: ignore[arg-type]
    assert sink.streams
    sink.emit(EventKind.TASK_STARTED, task="t", agent="a")
    for text in ("Hello", " world"):
        sink.chunk(Chunk(text, "a", "t", "fast", call=1))
    sink.emit(EventKind.MODEL_CALL, alias="fast", prompt_tokens=1, completion_tokens=2)
    sink.emit(EventKind.TASK_FINISHED, task="t", agent="a")
    assert store.rows == ["task_started", "model_call", "task_finished"]
    assert EventKind.MODEL_CHUNK not in [e.kind for e in plain]
    assert "  a · t ▸ Hello world\n" in out.getvalue()
    assert out.getvalue().index("Hello world") < out.getvalue().index("t done")
    assert not EventSink("r2", "demo", store, [plain.append]).streams  # type: ignore[arg-type]
