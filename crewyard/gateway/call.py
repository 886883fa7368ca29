"""One model call under way: its route, its attempts (retries and fallbacks by
crewyard.gateway.attempts), the cache, and a record of every attempt for the run."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Literal

from crewyard.errors import ModelError
from crewyard.gateway.attempts import Attempt, AttemptPlan, BadReply, classify, retry_after
from crewyard.gateway.config import AliasConfig
from crewyard.gateway.records import CallRecord, Chunk, ChunkFn, Completion, Reply, TextFn
from crewyard.gateway.tapes import Request
from crewyard.redact import redact

if TYPE_CHECKING:
    from crewyard.gateway.bound import RunGateway
    from crewyard.gateway.core import Gateway

CALL_OPTIONS = {"stop", "tools", "temperature", "max_tokens", "response_format"}


def check_options(options: dict[str, Any]) -> None:
    unknown = set(options) - CALL_OPTIONS
    if unknown:
        raise TypeError(f"unknown model call options: {', '.join(sorted(unknown))}")


class ChunkSink:
    """Where one call's streamed text goes (the run's chunk listener, the caller's own), as
    Chunks naming the call, its agent and task, and the attempt that streamed them."""

    def __init__(self, fns: list[ChunkFn], call: int, agent: str | None, task: str | None):
        self.fns, self.call, self.agent, self.task = fns, call, agent, task

    def text_fn(self, alias: str, attempt: int = 1, whole: bool = False) -> TextFn:
        def deliver(text: str) -> None:
            chunk = Chunk(text, self.agent, self.task, alias, self.call, attempt, whole)
            for fn in self.fns:
                fn(chunk)

        return deliver


class Call:
    """One model call under way: its route, attempts, cache entry and records."""

    def __init__(
        self,
        gateway: Gateway,
        run: RunGateway,
        alias: str,
        request: Request,
        route_note: str | None = None,
    ) -> None:
        self.gateway = gateway
        self.run = run  # records every attempt, checks the budget before each
        self.messages = request.messages
        self.options = request.options
        self.agent = request.agent
        self.task = request.task
        self.route_note = route_note  # how `auto` chose this alias
        self.alias, self.cfg = gateway.table.resolve(alias)
        chain = [(self.alias, self.cfg)] + [
            (name, gateway.table.aliases[name]) for name in gateway.table.chain(alias)[1:]
        ]
        self.plan = AttemptPlan(chain, gateway.cooldowns)
        self.errors: list[str] = []
        self._cache_key: str | Literal[False] | None = False  # False: not computed yet
        self.started = time.perf_counter()
        self.sink: ChunkSink | None = None  # someone listens: the reply is streamed

    def streamer(self, attempt: Attempt, whole: bool = False) -> TextFn | None:
        """Where this attempt's streamed text goes, or None: nobody listens."""
        if self.sink is None:
            return None
        return self.sink.text_fn(attempt.alias, attempt.number, whole)

    def next(self) -> Attempt | None:
        """The next attempt (None: the chain is spent); the budget may refuse it."""
        self.started = time.perf_counter()
        attempt = self.plan.next()
        if attempt is not None:
            self.run.check(attempt.alias, self.messages)
        return attempt

    def options_for(self, attempt: Attempt) -> dict[str, Any]:
        """The request's options, unset ones from the alias in models.yaml."""
        cfg = attempt.cfg
        out: dict[str, Any] = {}
        defaults = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}
        for key in CALL_OPTIONS:
            value = self.options.get(key)
            value = value if value is not None else defaults.get(key)
            if value is not None and value != []:
                out[key] = value
        return out

    def wait(self, attempt: Attempt) -> float:
        """Seconds to sleep before sending: a retry's backoff, then the alias's rpm/tpm."""
        if attempt.wait_s:
            wait, attempt.wait_s = attempt.wait_s, 0.0
            return wait
        cfg = attempt.cfg
        if cfg.rpm is None and cfg.tpm is None:
            return 0.0
        prompt = sum(len(str(m.get("content") or "")) for m in self.messages) // 4
        tokens = prompt + int(self.options.get("max_tokens") or cfg.max_tokens or 0)
        return self.gateway.throttle.reserve(attempt.alias, cfg.rpm, cfg.tpm, tokens)

    def cache_key(self) -> str | None:
        """Only deterministic requests are cached: temperature 0, no tools (computed once)."""
        if self._cache_key is not False:
            return self._cache_key
        cache, key = self.gateway.cache, None
        if cache is not None:
            options = self.options_for(Attempt(self.alias, self.cfg, 0, 0.0))
            if options.get("temperature") == 0 and "tools" not in options:
                request = {"messages": self.messages, **options}
                key = cache.key(self.cfg.model, self.cfg.api_base, request)
        self._cache_key = key
        return key

    def from_cache(self) -> Completion | None:
        key = self.cache_key()
        stored = self.gateway.cache.get(key) if key and self.gateway.cache else None
        if stored is None:
            return None
        saved = float(stored.get("cost_usd") or 0.0)
        result = Completion(**{**stored, "cost_usd": 0.0, "latency_ms": 0.0})
        if self.sink is not None and result.text:
            self.sink.text_fn(self.alias, whole=True)(result.text)
        latency = self._report(
            self.alias,
            result.model,
            result.prompt_tokens,
            result.completion_tokens,
            0.0,
            cached=True,
            cost_saved=saved,
            note=self.route_note,
        )
        return dataclasses.replace(result, latency_ms=latency)

    def _report(
        self,
        alias: str,
        model: str,
        prompt: int,
        completion: int,
        cost: float,
        error: str | None = None,
        cached: bool = False,
        attempt: int = 1,
        cost_saved: float = 0.0,
        note: str | None = None,
    ) -> float:
        latency = (time.perf_counter() - self.started) * 1000
        fallback_from = self.alias if alias != self.alias and error is None else None
        self.run.record(
            CallRecord(
                alias,
                model,
                self.agent,
                self.task,
                prompt,
                completion,
                cost,
                latency,
                error,
                cached,
                attempt,
                cost_saved,
                note,
                fallback_from=fallback_from,
            )
        )
        return latency

    def _note(self) -> str | None:
        parts = [p for p in (self.route_note, *self.plan.notes) if p]
        return "; ".join(parts) or None

    def failed(self, attempt: Attempt, exc: BaseException, spent: Any = None) -> None:
        """Record a failed attempt and let the plan decide what comes next."""
        fault = classify(exc)
        detail = redact(describe(exc))
        self.errors.append(f"{attempt.number}. {attempt.alias} ({attempt.cfg.model}): {detail}")
        prompt, completion, cost, model = 0, 0, 0.0, attempt.cfg.model
        if isinstance(exc, Spent):  # the provider answered (and charged) but unusably
            prompt, completion, cost, model = exc.prompt, exc.completion, exc.cost, exc.model
        self._report(
            attempt.alias,
            model,
            prompt,
            completion,
            cost,
            detail,
            attempt=attempt.number,
            note=self._note(),
        )
        self.plan.failed(attempt, fault, retry_after(exc))

    def give_up(self) -> ModelError:
        """The call's failure: every attempt, each with its alias, and the aliases skipped while
        cooling down (one attempt on the alias asked for reads as that alias's error)."""
        skipped = [note for note in self.plan.notes if note.startswith("skipped ")]
        if len(self.errors) == 1 and not skipped:
            return ModelError(self.alias, self.cfg.model, self.errors[0].split(": ", 1)[1])
        count = len(self.errors)
        detail = f"all {count} attempt{'s' if count != 1 else ''} failed: " + "; ".join(self.errors)
        if skipped:
            detail += f" ({'; '.join(skipped)})"
        return ModelError(self.alias, self.cfg.model, detail)

    def done(self, attempt: Attempt, reply: Reply) -> Completion:
        prompt, completion = reply.prompt_tokens, reply.completion_tokens
        model = reply.model or attempt.cfg.model
        cost = _cost(attempt.cfg, reply)
        tool_calls, text = reply.tool_calls, reply.text
        if problem := _unusable(text, tool_calls):
            raise Spent(problem, model, prompt, completion, cost)
        self.gateway.cooldowns.succeeded(attempt.alias)
        latency = self._report(
            attempt.alias,
            model,
            prompt,
            completion,
            cost,
            attempt=attempt.number,
            note=self._note(),
        )
        result = Completion(
            text=text,
            model=model,
            alias=attempt.alias,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            latency_ms=latency,
            finish_reason=reply.finish_reason,
            tool_calls=tool_calls,
            attempts=attempt.number,
        )
        key = self.cache_key()
        fresh = attempt.alias == self.alias and result.finish_reason in ("stop", None)
        if key and self.gateway.cache is not None and fresh:
            self.gateway.cache.put(key, asdict(result))
        return result


class Spent(BadReply):
    """An unusable reply that was still paid for: its tokens go on the attempt's record."""

    def __init__(self, problem: str, model: str, prompt: int, completion: int, cost: float):
        super().__init__(problem)
        self.model, self.prompt, self.completion, self.cost = model, prompt, completion, cost


def _unusable(text: str, tool_calls: list[dict[str, Any]]) -> str | None:
    """Why a reply cannot be used (retried like a server error), or None."""
    if not text.strip() and not tool_calls:
        return "the model sent an empty reply"
    for call in tool_calls:
        fn = call.get("function") or {}
        try:
            args = json.loads(fn.get("arguments") or "{}")
        except ValueError:
            args = None
        if not isinstance(args, dict):
            return f"the model sent invalid JSON arguments for tool {fn.get('name')!r}"
    return None


def _cost(cfg: AliasConfig, reply: Reply) -> float:
    """models.yaml's prices when it gives them, else LiteLLM's; providers' models are free."""
    if cfg.input_cost_per_token is not None or cfg.output_cost_per_token is not None:
        return reply.prompt_tokens * (cfg.input_cost_per_token or 0) + reply.completion_tokens * (
            cfg.output_cost_per_token or 0
        )
    return reply.cost_usd or 0.0


def describe(exc: BaseException) -> str:
    """The provider's own words, without LiteLLM's wrapping noise."""
    name = type(exc).__name__
    text = str(getattr(exc, "message", "") or exc)
    text = re.sub(r"\s*LiteLLM: model group .*$", "", text, flags=re.DOTALL)
    for noise in ("litellm.", "LiteLLM ", "OpenAIException - "):
        text = text.replace(noise, "")
    for tail in ("Traceback (most recent call last)", "This looks like a bug in"):
        text = text.split(tail, 1)[0]  # LiteLLM's wrapping of a provider's own exception
    text = text.strip()
    while text.startswith(f"{name}: "):
        text = text[len(name) + 2 :]
    return f"{name}: {text}"[:2000]
