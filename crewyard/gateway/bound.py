"""The gateway bound to one run (`ctx.gateway`): every attempt of every call is recorded — in
the run's usage here, and in its store and events through on_record — the run's budget is
checked before each attempt, and the run's tape records or replays. Engines, judges and
speaker selectors call this; nothing else applies budget or recording."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from crewyard.errors import BudgetExceeded, CrewyardError, ModelError
from crewyard.gateway.call import ChunkSink, check_options
from crewyard.gateway.records import CallRecord, Chunk, ChunkFn, Completion
from crewyard.gateway.tapes import NO_TAPE, Replayed, Request, Tape
from crewyard.gateway.usage import NO_LIMITS, Limits, UsageMeter

if TYPE_CHECKING:
    from crewyard.gateway.core import Gateway


class RunGateway:
    def __init__(
        self,
        gateway: Gateway,
        *,
        limits: Limits = NO_LIMITS,
        on_record: Callable[[CallRecord], None] | None = None,
        tape: Tape = NO_TAPE,
        on_chunk: ChunkFn | None = None,
    ) -> None:
        self.gateway = gateway
        self.limits = limits
        self.tape = tape
        self.usage = UsageMeter()
        self._on_record = on_record
        self._on_chunk = on_chunk  # the run's chunk listener: every call is streamed to it
        self._calls = itertools.count(1)
        # the errors this view raised to the engine: an engine that wraps them in its own
        # exception (AutoGen does, as text) still lets the run name the real cause
        self.raised: list[CrewyardError] = []
        self.on_first_call: Callable[[], None] | None = None  # told once, as it is sent

    def sending(self) -> None:
        """An attempt is about to be sent (its provider or LiteLLM loaded)."""
        if (told := self.on_first_call) is not None:
            self.on_first_call = None
            told()

    def record(self, call: CallRecord) -> None:
        """One attempt, as it ended (failed ones too)."""
        self.usage.add(call)
        if self._on_record is not None:
            self._on_record(call)

    def check(self, alias: str, messages: list[dict[str, Any]]) -> None:
        """Refuse an attempt that would pass the run's budget (BudgetExceeded)."""
        self.limits.check(self.usage, alias, messages)

    def complete(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        *,
        agent: str | None = None,
        task: str | None = None,
        on_chunk: ChunkFn | None = None,
        **options: Any,
    ) -> Completion:
        """One chat completion: retried, fallen back and recorded attempt by attempt.

        ref: an alias, a LiteLLM model string, or `auto` (routed by complexity).
        options: stop, tools, temperature, max_tokens, response_format; unset ones come
        from the alias in models.yaml. The reply is streamed — to on_chunk and to the run's
        chunk listener — only when one of them is there; the Completion is the same."""
        check_options(options)
        request = Request(ref, messages, options, agent, task)
        sink = self._sink(request, on_chunk)
        started = time.perf_counter()
        try:
            if (played := self.tape.play(request)) is not None:
                return self._replayed(request, played, started, sink)
            result = self.gateway.send(request, self, sink)
        except (ModelError, BudgetExceeded) as exc:
            self.tape.keep(request, error=exc)
            self.raised.append(exc)
            raise
        except CrewyardError as exc:  # a replay that differs from its recording
            self.raised.append(exc)
            raise
        self.tape.keep(request, result)
        return result

    async def acomplete(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        *,
        agent: str | None = None,
        task: str | None = None,
        on_chunk: ChunkFn | None = None,
        **options: Any,
    ) -> Completion:
        """complete() for async engines."""
        check_options(options)
        request = Request(ref, messages, options, agent, task)
        sink = self._sink(request, on_chunk)
        started = time.perf_counter()
        try:
            if (played := self.tape.play(request)) is not None:
                return self._replayed(request, played, started, sink)
            result = await self.gateway.asend(request, self, sink)
        except (ModelError, BudgetExceeded) as exc:
            self.tape.keep(request, error=exc)
            self.raised.append(exc)
            raise
        except CrewyardError as exc:  # a replay that differs from its recording
            self.raised.append(exc)
            raise
        self.tape.keep(request, result)
        return result

    async def astream(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        *,
        agent: str | None = None,
        task: str | None = None,
        **options: Any,
    ) -> AsyncIterator[Chunk | Completion]:
        """acomplete(), streamed to the caller: the Chunks as they arrive (a retry's start
        again, with the next attempt number), then the Completion."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Chunk | None] = asyncio.Queue()

        def put(chunk: Chunk) -> None:  # from the loop, or from a provider's thread
            loop.call_soon_threadsafe(queue.put_nowait, chunk)

        job = asyncio.ensure_future(
            self.acomplete(ref, messages, agent=agent, task=task, on_chunk=put, **options)
        )
        job.add_done_callback(lambda _: loop.call_soon_threadsafe(queue.put_nowait, None))
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
            yield await job
        finally:
            job.cancel()  # the caller stopped reading: the call is not waited for

    def _sink(self, request: Request, on_chunk: ChunkFn | None) -> ChunkSink | None:
        fns = [fn for fn in (self._on_chunk, on_chunk) if fn is not None]
        return ChunkSink(fns, next(self._calls), request.agent, request.task) if fns else None

    def _replayed(
        self, request: Request, played: Replayed, started: float, sink: ChunkSink | None = None
    ) -> Completion:
        """A recorded call: recorded as replayed (nothing spent), then its reply or error."""
        if isinstance(played.error, BudgetExceeded):  # refused before it was made
            raise played.error
        reply = played.completion
        if sink is not None and reply is not None and reply.text:
            sink.text_fn(played.alias, whole=True)(reply.text)
        latency = (time.perf_counter() - started) * 1000
        self.record(
            CallRecord(
                played.alias,
                played.model,
                request.agent,
                request.task,
                reply.prompt_tokens if reply else 0,
                reply.completion_tokens if reply else 0,
                0.0,
                latency,
                error=None if played.error is None else _detail(played.error),
                cached=True,
                note=played.note,
                replayed=True,
            )
        )
        if played.error is not None or reply is None:
            raise played.error or ModelError(played.alias, played.model, "no reply recorded")
        return dataclasses.replace(reply, latency_ms=latency)

    # what engines ask of a model besides calls
    def model_info(self, ref: str) -> dict[str, Any]:
        return self.gateway.model_info(ref)

    def context_window(self, ref: str) -> int:
        return self.gateway.context_window(ref)

    def count_tokens(self, ref: str, messages: list[dict[str, Any]]) -> int:
        return self.gateway.count_tokens(ref, messages)


def _detail(error: BaseException) -> str:
    return error.detail if isinstance(error, ModelError) else str(error)
