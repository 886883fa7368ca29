"""What a model call returns and what the run records of it (no LiteLLM here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    """One model call as the run records it (failed calls too)."""

    alias: str
    model: str
    agent: str | None
    task: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    error: str | None = None
    cached: bool = False  # answered from the response cache: nothing was spent
    attempt: int = 1  # 1-based over the call: retries and fallbacks are attempts 2, 3, …
    cost_saved: float = 0.0  # a cache hit: what the answer cost when it was first bought
    note: str | None = None  # routing choice and reason, fallbacks taken, aliases skipped
    replayed: bool = False  # answered from a cassette (--replay); also `cached`: nothing spent
    fallback_from: str | None = None  # the alias asked for, when a fallback alias answered


@dataclass(frozen=True)
class Completion:
    """A model's reply in one shape, whatever the provider."""

    text: str
    model: str
    alias: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 1  # how many attempts the call took


@dataclass(frozen=True)
class Reply:
    """One attempt's answer, in the same shape from a provider and from LiteLLM."""

    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None = "stop"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    cost_usd: float | None = None  # LiteLLM's price; None: priced by models.yaml, or free


@dataclass(frozen=True)
class Chunk:
    """A piece of a reply's text as it streams in (streamed only when someone listens)."""

    text: str
    agent: str | None
    task: str | None
    alias: str
    call: int  # numbers the run's calls: chunks of one call share it
    attempt: int = 1  # a retry or fallback streams again from the start: 2, 3, …
    whole: bool = False  # the whole reply at once: a cache hit, a replay, a provider that
    # cannot stream


ChunkFn = Callable[[Chunk], None]
TextFn = Callable[[str], None]  # what a provider calls with each piece of text
