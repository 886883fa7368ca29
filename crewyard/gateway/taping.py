"""Record and replay at the gateway: a recording run appends each call's final reply (or the
error that ended it) to its cassette; a replaying run is answered from its cassette without
the Router, the response cache or any provider."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from crewyard.cassette import CassettePlayer, CassetteWriter
from crewyard.errors import BudgetExceeded, ModelError
from crewyard.gateway.records import CallRecord, Completion

Cassette = CassetteWriter | CassettePlayer


def record(
    cassette: Cassette | None,
    ref: str,
    messages: list[dict[str, Any]],
    options: dict[str, Any],
    agent: str | None,
    task: str | None,
    result: Completion | None = None,
    error: BaseException | None = None,
) -> None:
    """Append a call's final reply, or the model or budget error that ended it, when the
    run records (failed attempts before a good reply are not part of the cassette)."""
    if not isinstance(cassette, CassetteWriter):
        return
    call: dict[str, Any] = {
        "ref": ref,
        "agent": agent,
        "task": task,
        "messages": messages,
        "options": options,
    }
    if result is not None:
        reply = {
            "text": result.text,
            "tool_calls": result.tool_calls,
            "finish_reason": result.finish_reason,
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "cost_usd": result.cost_usd,
            "attempts": result.attempts,
        }
        cassette.call(alias=result.alias, model=result.model, reply=reply, **call)
    elif isinstance(error, ModelError):
        cassette.call(
            alias=error.alias, model=error.model, error=error.detail, error_kind="model", **call
        )
    elif isinstance(error, BudgetExceeded):  # the call was refused before it was made
        cassette.call(alias=ref, model="", error=str(error), error_kind="budget", **call)


def replay(
    player: CassettePlayer,
    ref: str,
    messages: list[dict[str, Any]],
    options: dict[str, Any],
    agent: str | None,
    task: str | None,
    on_call: Callable[[CallRecord], None] | None,
) -> Completion:
    """The recorded reply (or error) of this call; ReplayMismatch if the request differs."""
    started = time.perf_counter()
    entry = player.answer(ref, messages, options, agent, task)
    if entry.error_kind == "budget":
        raise BudgetExceeded(entry.error or "budget reached")
    reply = entry.reply or {}
    prompt = int(reply.get("prompt_tokens") or 0)
    completion = int(reply.get("completion_tokens") or 0)
    latency = (time.perf_counter() - started) * 1000
    if on_call is not None:
        on_call(
            CallRecord(
                entry.alias,
                entry.model,
                agent,
                task,
                prompt,
                completion,
                0.0,
                latency,
                error=entry.error,
                cached=True,
                note=f"replayed call {entry.number} of run {player.run_id}",
                replayed=True,
            )
        )
    if entry.error_kind == "model":
        raise ModelError(entry.alias, entry.model, entry.error or "failed")
    return Completion(
        text=str(reply.get("text") or ""),
        model=entry.model,
        alias=entry.alias,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_usd=0.0,
        latency_ms=latency,
        finish_reason=reply.get("finish_reason"),
        tool_calls=list(reply.get("tool_calls") or []),
        attempts=int(reply.get("attempts") or 1),
    )
