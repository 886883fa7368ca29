"""The model gateway: every model call of every engine goes through here. models.yaml aliases
become LiteLLM Router deployments; `model: auto` is routed by complexity; retries, fallbacks,
cooldowns and rates are the gateway's own (crewyard.attempts, crewyard.throttle)."""

from __future__ import annotations

import asyncio
import copy
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import litellm
from litellm.router import Router

from crewyard import complexity, local_model
from crewyard.attempts import Cooldowns
from crewyard.cache import ResponseCache
from crewyard.cassette import CassettePlayer
from crewyard.errors import BudgetExceeded, ConfigError, CrewyardError, ModelError
from crewyard.gateway import taping
from crewyard.gateway.call import CALL_OPTIONS, Call, describe
from crewyard.gateway.providers import FREE_PROVIDERS, GATEWAYS
from crewyard.gateway.records import CallRecord, Completion
from crewyard.gateway.taping import Cassette
from crewyard.models_config import AUTO, AliasConfig, ModelTable
from crewyard.redact import redact, treat_as_secret
from crewyard.scripted import ReplyFn, Script, approx_tokens
from crewyard.throttle import Throttle


class Gateway:
    """Aliases → LiteLLM Router deployments; records tokens, cost and latency of each call."""

    def __init__(self, table: ModelTable, cache: ResponseCache | None = None) -> None:
        self.id = f"g{uuid.uuid4().hex[:10]}"
        self.table = table
        self.cache = cache
        self.scripts: dict[str, Script] = {}
        self._router: Router | None = None
        self._deployments: dict[str, AliasConfig] = {}
        self._lock = threading.Lock()
        self.cooldowns = Cooldowns()
        self.throttle = Throttle()
        self.cassette: Cassette | None = None  # set on a run's view by for_run()
        self._origin: Gateway | None = None
        GATEWAYS[self.id] = self
        for alias in table.aliases.values():
            provider, _, name = alias.model.partition("/")
            if provider == "scripted" and alias.script is not None:
                self.register_script(name, alias.script)

    def register_script(self, name: str, replies: Sequence[str] | ReplyFn) -> Script:
        """Make `scripted/<name>` answer with these replies (or this function)."""
        self.scripts[name] = Script(name, replies)
        return self.scripts[name]

    def _params(self, cfg: AliasConfig) -> dict[str, Any]:
        provider, _, name = cfg.model.partition("/")
        model = f"{provider}/{self.id}.{name}" if provider in FREE_PROVIDERS else cfg.model
        params: dict[str, Any] = {"model": model, "timeout": cfg.timeout}
        if cfg.api_base:
            params["api_base"] = cfg.api_base
        if cfg.api_key_env:
            treat_as_secret(cfg.api_key_env)
            key = os.environ.get(cfg.api_key_env)
            if not key:
                raise ConfigError(
                    f"model {cfg.model} needs the API key in ${cfg.api_key_env}, which is not set",
                    file=self.table.source,
                    hint=f"export {cfg.api_key_env}=… (or put it in .env)",
                )
            params["api_key"] = key
        if cfg.input_cost_per_token is not None:
            params["input_cost_per_token"] = cfg.input_cost_per_token
        if cfg.output_cost_per_token is not None:
            params["output_cost_per_token"] = cfg.output_cost_per_token
        return params

    def check(self, refs: Sequence[str]) -> None:
        """Fail before a run starts if a model is unknown or its API key is missing (for
        `auto`: every tier's alias; for each alias: its whole fallback chain)."""
        names = [c for ref in refs for c in self.table.candidates(ref)]
        if any(ref == AUTO for ref in refs) and self.table.spec.routing.classifier == "model":
            names.append(self.table.spec.routing.classifier_model)
        for name in dict.fromkeys(n for c in names for n in self.table.chain(c)):
            alias, cfg = self.table.resolve(name)
            self._params(cfg)
            self._check_provider_key(alias, cfg)

    def _check_provider_key(self, alias: str, cfg: AliasConfig) -> None:
        """A provider's usual key variable (OPENAI_API_KEY, …) when models.yaml names none."""
        if cfg.api_key_env or cfg.api_base or cfg.model.split("/", 1)[0] in FREE_PROVIDERS:
            return
        try:
            found = litellm.validate_environment(model=cfg.model)
        except Exception:  # a provider LiteLLM cannot judge: the first call will tell
            return
        missing = [k for k in found.get("missing_keys", []) if not k.endswith("_API_BASE")]
        if not found.get("keys_in_environment") and missing:
            needed = " or ".join(f"${k}" for k in missing)
            raise ConfigError(
                f"model alias {alias!r} ({cfg.model}) needs the API key in {needed}, "
                "which is not set",
                file=self.table.source,
                hint=f"export {missing[0]}=… (or put it in .env), or point {alias!r} at "
                "another model (--model / CREWYARD_MODEL_" + alias.upper() + ")",
            )

    def context_window(self, ref: str) -> int:
        """How many tokens the model behind ref reads (for auto: the smallest tier's)."""
        return min(self._context_window(c) for c in self.table.candidates(ref))

    def _context_window(self, ref: str) -> int:
        _, cfg = self.table.resolve(ref)
        if cfg.model.startswith("local/"):
            return self.table.spec.local.n_ctx
        try:
            info = litellm.get_model_info(cfg.model)
            return int(info.get("max_input_tokens") or info.get("max_tokens") or 8192)
        except Exception:  # a model LiteLLM does not know
            return 8192

    def model_info(self, ref: str) -> dict[str, Any]:
        """What the model behind ref can do, truthfully, in AutoGen's ModelInfo keys (for
        auto: only what every tier's model can do)."""
        infos = [self._model_info(c) for c in self.table.candidates(ref)]
        return {
            key: (all(i[key] for i in infos) if isinstance(infos[0][key], bool) else value)
            for key, value in infos[0].items()
        }

    def _model_info(self, ref: str) -> dict[str, Any]:
        _, cfg = self.table.resolve(ref)
        provider = cfg.model.split("/", 1)[0]
        if provider in FREE_PROVIDERS:
            # the local model decodes JSON (and JSON schemas) by grammar; it has no native tools
            json_ok = provider == "local"
            return {
                "vision": False,
                "function_calling": False,
                "json_output": json_ok,
                "structured_output": json_ok,
                "family": "unknown",
                "multiple_system_messages": True,
            }

        def supports(check: Callable[..., bool]) -> bool:
            try:
                return bool(check(model=cfg.model))
            except Exception:  # unknown to LiteLLM
                return False

        return {
            "vision": supports(litellm.supports_vision),
            "function_calling": supports(litellm.supports_function_calling),
            "json_output": supports(litellm.supports_response_schema),
            "structured_output": supports(litellm.supports_response_schema),
            "family": "unknown",
            "multiple_system_messages": True,
        }

    def embed(self, ref: str, texts: list[str]) -> list[list[float]]:
        """Embeddings through the Router (the alias's model, retries and fallbacks)."""
        name, cfg = self.table.resolve(ref)
        try:
            response = self._router_for(name, cfg).embedding(model=name, input=list[object](texts))
        except Exception as exc:
            raise ModelError(name, cfg.model, redact(describe(exc))) from exc
        rows = sorted(response.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        return [list(r["embedding"] if isinstance(r, dict) else r.embedding) for r in rows]

    def count_tokens(self, ref: str, messages: list[dict[str, Any]]) -> int:
        """Prompt tokens as the model behind ref counts them (auto: the standard tier's)."""
        _, cfg = self.table.resolve(
            self.table.spec.routing.alias_for("standard") if ref == AUTO else ref
        )
        text = "\n".join(str(m.get("content") or "") for m in messages)
        if cfg.model.startswith("local/"):
            return local_model.load(self.table.spec.local).count_tokens(text)
        if cfg.model.startswith("scripted/"):
            return approx_tokens(text)
        return int(litellm.token_counter(model=cfg.model, messages=messages))

    def _router_for(self, name: str, cfg: AliasConfig) -> Router:
        with self._lock:
            if self._router is None or name not in self._deployments:
                self._deployments.update(self.table.aliases)
                self._deployments[name] = cfg
                # The Router sends each attempt; retries, fallbacks and cooldowns are the
                # gateway's (crewyard.attempts), so every attempt is seen and recorded.
                self._router = Router(
                    model_list=[
                        {"model_name": n, "litellm_params": self._params(c)}
                        for n, c in self._deployments.items()
                    ],
                    num_retries=0,
                    disable_cooldowns=True,
                )
            return self._router

    def _begin(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        agent: str | None,
        task: str | None,
        on_call: Callable[[CallRecord], None] | None,
        before_call: Callable[[str, list[dict[str, Any]]], None] | None,
        options: dict[str, Any],
    ) -> Call:
        if ref == AUTO:
            alias, note = self.route(messages, task, on_call, before_call)
            return Call(self, alias, messages, options, agent, task, on_call, note)
        return Call(self, ref, messages, options, agent, task, on_call)

    def route(
        self,
        messages: list[dict[str, Any]],
        task: str | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        before_call: Callable[[str, list[dict[str, Any]]], None] | None = None,
    ) -> tuple[str, str]:
        """(alias, reason) for a `model: auto` request, by the routing in models.yaml; a
        classifier model's call is recorded like any other (agent `router`)."""
        routing = self.table.spec.routing
        tier, reason = complexity.classify(messages)
        if routing.classifier == "model":
            try:
                # the gateway's own call: never part of a cassette (a replay does not route)
                reply = self._complete(
                    routing.classifier_model,
                    complexity.classifier_messages(messages),
                    "router",
                    task,
                    on_call,
                    before_call,
                    {
                        "temperature": 0,
                        "max_tokens": 20,
                        "response_format": {
                            "type": "json_schema",
                            "json_schema": {
                                "name": "tier",
                                "schema": complexity.CLASSIFIER_SCHEMA,
                            },
                        },
                    },
                )
                picked = complexity.parse_tier(reply.text)
                tier, reason = (
                    (picked, f"classified by {routing.classifier_model}")
                    if picked
                    else (tier, f"classifier gave no tier; rules: {reason}")
                )
            except CrewyardError as exc:
                reason = f"classifier failed ({exc}); rules: {reason}"
        alias = routing.alias_for(tier)
        return alias, f"auto → {alias} ({tier}: {reason})"

    def for_run(self, cassette: Cassette | None) -> Gateway:
        """This gateway for one run that records or replays: the same models, scripts, cache,
        cooldowns and rate limits, with the run's own cassette (so concurrent runs on one
        gateway never write to, or answer from, each other's)."""
        if cassette is None:
            return self
        view = copy.copy(self)
        view._origin = self  # the providers find scripts and settings by the origin's id
        view.cassette = cassette
        view._deployments = dict(self._deployments)  # a Router of its own, never a stale one
        return view

    def complete(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        *,
        agent: str | None = None,
        task: str | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        before_call: Callable[[str, list[dict[str, Any]]], None] | None = None,
        **options: Any,
    ) -> Completion:
        """One chat completion: retried, fallen back and recorded attempt by attempt.

        ref: an alias, a LiteLLM model string, or `auto` (routed by complexity).
        options: stop, tools, temperature, max_tokens, response_format; unset ones come
        from the alias in models.yaml. before_call may refuse an attempt (a budget).
        A replaying run is answered from its cassette; a recording one appends to it."""
        _check_options(options)
        if isinstance(self.cassette, CassettePlayer):
            return taping.replay(self.cassette, ref, messages, options, agent, task, on_call)
        try:
            result = self._complete(ref, messages, agent, task, on_call, before_call, options)
        except (ModelError, BudgetExceeded) as exc:
            taping.record(self.cassette, ref, messages, options, agent, task, error=exc)
            raise
        taping.record(self.cassette, ref, messages, options, agent, task, result)
        return result

    async def acomplete(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        *,
        agent: str | None = None,
        task: str | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        before_call: Callable[[str, list[dict[str, Any]]], None] | None = None,
        **options: Any,
    ) -> Completion:
        """complete() for async engines (the Router's async path)."""
        _check_options(options)
        if isinstance(self.cassette, CassettePlayer):
            return taping.replay(self.cassette, ref, messages, options, agent, task, on_call)
        try:
            result = await self._acomplete(
                ref, messages, agent, task, on_call, before_call, options
            )
        except (ModelError, BudgetExceeded) as exc:
            taping.record(self.cassette, ref, messages, options, agent, task, error=exc)
            raise
        taping.record(self.cassette, ref, messages, options, agent, task, result)
        return result

    def _complete(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        agent: str | None,
        task: str | None,
        on_call: Callable[[CallRecord], None] | None,
        before_call: Callable[[str, list[dict[str, Any]]], None] | None,
        options: dict[str, Any],
    ) -> Completion:
        call = self._begin(ref, messages, agent, task, on_call, before_call, options)
        if (hit := call.from_cache()) is not None:
            return hit
        while (attempt := call.next()) is not None:
            if before_call is not None:
                before_call(attempt.alias, messages)
            while wait := call.wait(attempt):
                time.sleep(wait)
            try:
                return call.done(attempt, call.router.completion(**call.kwargs(attempt)))
            except Exception as exc:
                call.failed(attempt, exc)
        raise call.give_up()

    async def _acomplete(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        agent: str | None,
        task: str | None,
        on_call: Callable[[CallRecord], None] | None,
        before_call: Callable[[str, list[dict[str, Any]]], None] | None,
        options: dict[str, Any],
    ) -> Completion:
        args = (ref, messages, agent, task, on_call, before_call, options)
        # routing `auto` may ask a classifier model: keep that call off the event loop
        call = await asyncio.to_thread(self._begin, *args) if ref == AUTO else self._begin(*args)
        if (hit := call.from_cache()) is not None:
            return hit
        while (attempt := call.next()) is not None:
            if before_call is not None:
                before_call(attempt.alias, messages)
            while wait := call.wait(attempt):
                await asyncio.sleep(wait)
            try:
                return call.done(attempt, await call.router.acompletion(**call.kwargs(attempt)))
            except Exception as exc:
                call.failed(attempt, exc)
        raise call.give_up()


def _check_options(options: dict[str, Any]) -> None:
    unknown = set(options) - CALL_OPTIONS
    if unknown:
        raise TypeError(f"unknown model call options: {', '.join(sorted(unknown))}")
