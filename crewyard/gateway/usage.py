"""Token and cost accounting for one run, per model, and the run's budget."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from crewyard.errors import BudgetExceeded
from crewyard.gateway.records import CallRecord


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

    def add(self, call: CallRecord) -> None:
        with self._lock:
            if call.replayed:
                self.replayed_calls += 1
                return
            if call.cached:  # answered from the cache: nothing spent
                self.cache_hits += 1
                self.tokens_saved += call.prompt_tokens + call.completion_tokens
                self.cost_saved += call.cost_saved
                return
            self.failed_attempts += int(call.error is not None)
            usage = self.by_model.setdefault(call.model, ModelUsage())
            usage.calls += 1
            usage.prompt_tokens += call.prompt_tokens
            usage.completion_tokens += call.completion_tokens
            usage.cost_usd += call.cost_usd

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


@dataclass(frozen=True)
class Limits:
    """A run's budget: the call that would pass it is refused before it is made."""

    max_tokens: int | None = None
    max_cost_usd: float | None = None

    def check(self, meter: UsageMeter, alias: str, messages: list[dict[str, Any]]) -> None:
        """Raise BudgetExceeded when the next call (its prompt estimated at 4 characters a
        token) would pass the token budget, or the dollar budget is spent."""
        if self.max_tokens is None and self.max_cost_usd is None:
            return
        spent = meter.summary()
        if self.max_tokens is not None:
            prompt = sum(len(str(m.get("content") or "")) for m in messages) // 4
            if spent["total_tokens"] + prompt > self.max_tokens:
                raise BudgetExceeded(
                    f"token budget reached: {spent['total_tokens']} of {self.max_tokens} "
                    f"tokens spent, and the next call to {alias} needs about {prompt} more"
                )
        if self.max_cost_usd is not None and spent["cost_usd"] >= self.max_cost_usd:
            raise BudgetExceeded(
                f"dollar budget reached: ${spent['cost_usd']:.4f} of ${self.max_cost_usd:.4f}"
            )


NO_LIMITS = Limits()
