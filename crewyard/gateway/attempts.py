"""The gateway's retry and fallback policy, kept apart from LiteLLM so it reads (and tests) as
plain rules: which faults are retried, which move on to the next alias, how long to wait, and
which aliases are cooling down after failing."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from crewyard.gateway.config import AliasConfig

MAX_WAIT_S = 60.0  # a Retry-After longer than this is not waited for: the next alias is tried


class Fault(Enum):
    RATE_LIMIT = "rate_limit"  # 429: go to the next alias at once, else wait and retry
    TRANSIENT = "transient"  # 5xx, timeouts, dropped connections: retry, then fall back
    BAD_REPLY = "bad_reply"  # an empty reply, broken tool-call JSON: retry, then fall back
    PROVIDER = "provider"  # bad key, unknown model, prompt too long: no retry, fall back
    CALLER = "caller"  # the request itself is wrong (400/422): no retry, no fallback


class BadReply(Exception):
    """The provider answered, but with nothing usable."""


class ContextWindowExceededError(Exception):
    """The prompt does not fit the model (LiteLLM's name for it): an alias with a longer
    context may take it, the same alias never will."""


def classify(exc: BaseException) -> Fault:
    """A provider error as a Fault, by LiteLLM's (OpenAI-style) class names and status."""
    if isinstance(exc, BadReply):
        return Fault.BAD_REPLY
    names = {c.__name__ for c in type(exc).__mro__}
    status = getattr(exc, "status_code", None)
    if "ContextWindowExceededError" in names:
        return Fault.PROVIDER  # a model with a longer context may take it
    if "ContentPolicyViolationError" in names:
        return Fault.CALLER
    if status == 429 or "RateLimitError" in names:
        return Fault.RATE_LIMIT
    if status in (401, 403, 404) or names & {
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
    }:
        return Fault.PROVIDER
    if status in (400, 413, 422) or names & {"BadRequestError", "UnprocessableEntityError"}:
        return Fault.CALLER
    return Fault.TRANSIENT


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (Retry-After / retry-after-ms), if it said."""
    headers: Any = getattr(exc, "litellm_response_headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    if not isinstance(headers, Mapping) and not hasattr(headers, "get"):
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:  # an HTTP date
            when = email.utils.parsedate_to_datetime(str(value)).timestamp()
            return max(0.0, when - time.time())
    except (TypeError, ValueError):
        return None


@dataclass
class Attempt:
    alias: str
    cfg: AliasConfig
    number: int  # 1-based, over the whole call
    wait_s: float  # sleep this long first


@dataclass
class Cooldowns:
    """Aliases that failed allowed_fails times in a row (or were rate limited) are skipped
    for cooldown_s while a fallback is left to try. Shared by every call of a gateway."""

    _fails: dict[str, int] = field(default_factory=dict)
    _until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cooling(self, alias: str) -> float:
        """Seconds left in the alias's cooldown (0: usable)."""
        with self._lock:
            return max(0.0, self._until.get(alias, 0.0) - time.monotonic())

    def failed(self, alias: str, cfg: AliasConfig, fault: Fault, wait: float | None) -> None:
        if fault not in (Fault.RATE_LIMIT, Fault.TRANSIENT, Fault.BAD_REPLY):
            return
        with self._lock:
            fails = self._fails[alias] = self._fails.get(alias, 0) + 1
            if fault is Fault.RATE_LIMIT or fails >= cfg.allowed_fails:
                span = max(cfg.cooldown_s, wait or 0.0)
                self._until[alias] = time.monotonic() + span

    def succeeded(self, alias: str) -> None:
        with self._lock:
            self._fails.pop(alias, None)
            self._until.pop(alias, None)


@dataclass
class AttemptPlan:
    """Walks one call through its chain of aliases: retries on one alias, then the next.

    Each alias makes at most num_retries + 1 attempts, so a call makes at most
    sum(retries + 1) over its chain (retries + fallbacks + 1 when fallbacks do not retry)."""

    chain: list[tuple[str, AliasConfig]]
    cooldowns: Cooldowns
    notes: list[str] = field(default_factory=list)
    _index: int = 0
    _tries: int = 0  # attempts made on the current alias
    _number: int = 0
    _wait: float = 0.0

    def __post_init__(self) -> None:
        self._skip_cooling()

    def _skip_cooling(self) -> None:
        """Step over aliases in cooldown while a later one is free."""
        while self._index < len(self.chain) - 1:
            alias = self.chain[self._index][0]
            left = self.cooldowns.cooling(alias)
            if not left:
                return
            self.notes.append(f"skipped {alias} (cooling down for {left:.0f} s more)")
            self._index += 1

    def next(self) -> Attempt | None:
        """The next attempt, or None when the chain is spent."""
        if self._index >= len(self.chain):
            return None
        alias, cfg = self.chain[self._index]
        self._tries += 1
        self._number += 1
        wait, self._wait = self._wait, 0.0
        return Attempt(alias, cfg, self._number, wait)

    def failed(self, attempt: Attempt, fault: Fault, wait: float | None = None) -> bool:
        """Record a failed attempt; False when the call must stop now (a caller's fault)."""
        self.cooldowns.failed(attempt.alias, attempt.cfg, fault, wait)
        if fault is Fault.CALLER:
            self._index = len(self.chain)
            return False
        retries_left = self._tries <= attempt.cfg.num_retries
        has_next = self._index < len(self.chain) - 1
        retry = fault in (Fault.TRANSIENT, Fault.BAD_REPLY) or (
            fault is Fault.RATE_LIMIT and not has_next
        )
        if retry and retries_left and (wait or 0.0) <= MAX_WAIT_S:
            backoff = attempt.cfg.retry_backoff_s * 2 ** (self._tries - 1)
            self._wait = wait if wait is not None else backoff
            return True
        self._index += 1
        self._tries = 0
        if self._index < len(self.chain):
            self.notes.append(f"fell back from {attempt.alias} ({fault.value})")
            self._skip_cooling()
        return self._index < len(self.chain)
