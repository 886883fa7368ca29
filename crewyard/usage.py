"""Token and cost accounting for one run, per model."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ModelUsage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class UsageMeter:
    """Thread-safe totals of every model call made for a run."""

    by_model: dict[str, ModelUsage] = field(default_factory=dict)
    cache_hits: int = 0
    tokens_saved: int = 0
    cost_saved: float = 0.0
    failed_attempts: int = 0
    replayed_calls: int = 0  # answered from a cassette: nothing spent, nothing saved
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(
        self,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost_usd: float,
        cached: bool = False,
        cost_saved: float = 0.0,
        failed: bool = False,
        replayed: bool = False,
    ) -> None:
        with self._lock:
            if replayed:
                self.replayed_calls += 1
                return
            if cached:  # answered from the cache: nothing spent
                self.cache_hits += 1
                self.tokens_saved += prompt_tokens + completion_tokens
                self.cost_saved += cost_saved
                return
            self.failed_attempts += int(failed)
            usage = self.by_model.setdefault(model, ModelUsage())
            usage.calls += 1
            usage.prompt_tokens += prompt_tokens
            usage.completion_tokens += completion_tokens
            usage.cost_usd += cost_usd

    @property
    def cost_usd(self) -> float:
        return sum(u.cost_usd for u in self.by_model.values())

    def summary(self) -> dict[str, Any]:
        with self._lock:
            prompt = sum(u.prompt_tokens for u in self.by_model.values())
            completion = sum(u.completion_tokens for u in self.by_model.values())
            return {
                "calls": sum(u.calls for u in self.by_model.values()),
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "cost_usd": self.cost_usd,
                "cache_hits": self.cache_hits,
                "tokens_saved": self.tokens_saved,
                "cost_saved_usd": self.cost_saved,
                "failed_attempts": self.failed_attempts,
                "replayed_calls": self.replayed_calls,
                "by_model": {m: vars(u).copy() for m, u in self.by_model.items()},
            }
