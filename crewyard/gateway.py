"""The model gateway: every model call of every engine goes through here (the only litellm
importer). models.yaml aliases become a LiteLLM Router; `local/` and `scripted/` are LiteLLM
custom providers for the embedded model and scripted replies."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.router import Router
from litellm.types.utils import ModelResponse

from crewyard import local_model
from crewyard.cache import ResponseCache
from crewyard.errors import ConfigError, CrewyardError, ModelError
from crewyard.models_config import AliasConfig, ModelTable
from crewyard.redact import redact
from crewyard.scripted import ReplyFn, Script, ScriptExhausted, approx_tokens

litellm.telemetry = False
litellm.suppress_debug_info = True
# LiteLLM logs every failed attempt at ERROR; crewyard reports them once, with what was tried.
for _name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)
FREE_PROVIDERS = ("local", "scripted")
CALL_OPTIONS = {"stop", "tools", "temperature", "max_tokens", "response_format"}
# Gateways alive in this process, so the custom providers can find their owner's settings.
_gateways: weakref.WeakValueDictionary[str, Gateway] = weakref.WeakValueDictionary()


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


def _owner(model: str) -> tuple[Gateway, str]:
    gateway_id, _, name = model.partition(".")
    gateway = _gateways.get(gateway_id)
    if gateway is None:
        raise CrewyardError(f"no gateway owns model {model!r}")
    return gateway, name


def _model_response(
    message: dict[str, Any], finish: str | None, usage: dict[str, int], model: str
) -> ModelResponse:
    return ModelResponse(
        id=f"chatcmpl-{uuid.uuid4().hex[:12]}",
        model=model,
        choices=[{"index": 0, "message": message, "finish_reason": finish or "stop"}],
        usage=usage,
    )


def _llama_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI's response_format in llama.cpp's shape (grammar-constrained JSON)."""
    if not fmt or fmt.get("type") == "text":
        return None
    if fmt.get("type") == "json_schema":
        return {"type": "json_object", "schema": fmt.get("json_schema", {}).get("schema", {})}
    return {"type": "json_object", **({"schema": fmt["schema"]} if "schema" in fmt else {})}


class _LocalProvider(CustomLLM):
    """`local/<name>`: the embedded llama.cpp model."""

    def completion(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> ModelResponse:
        gateway, _ = _owner(model)
        params = kwargs.get("optional_params") or {}
        cfg = gateway.table.spec.local
        llm = local_model.load(cfg)
        stop = params.get("stop")
        result = llm.chat(
            messages,
            max_tokens=int(params.get("max_tokens") or cfg.max_tokens),
            temperature=float(params.get("temperature", 0.2)),
            stop=[stop] if isinstance(stop, str) else stop,
            response_format=_llama_format(params.get("response_format")),
        )
        choice = result["choices"][0]
        return _model_response(
            dict(choice["message"]),
            choice.get("finish_reason"),
            dict(result["usage"]),
            "local/smollm2",
        )

    async def acompletion(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> ModelResponse:
        return await asyncio.to_thread(self.completion, model, messages, *args, **kwargs)


class _ScriptedProvider(CustomLLM):
    """`scripted/<name>`: replies from a registered Script."""

    def completion(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> ModelResponse:
        gateway, name = _owner(model)
        script = gateway.scripts.get(name)
        if script is None:
            raise CustomLLMError(
                400,
                f"no script named {name!r}: give the alias a `script:` "
                "list in models.yaml or call Gateway.register_script()",
            )
        try:
            text = script.reply(messages)
        except ScriptExhausted as exc:  # a wrong script, not a passing fault: never retried
            raise CustomLLMError(400, str(exc)) from exc
        prompt = sum(approx_tokens(str(m.get("content") or "")) for m in messages)
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": approx_tokens(text),
            "total_tokens": prompt + approx_tokens(text),
        }
        return _model_response(
            {"role": "assistant", "content": text}, "stop", usage, f"scripted/{name}"
        )

    async def acompletion(
        self, model: str, messages: list[Any], *args: Any, **kwargs: Any
    ) -> ModelResponse:
        return self.completion(model, messages, *args, **kwargs)


_PROVIDERS = {"local": _LocalProvider(), "scripted": _ScriptedProvider()}
litellm.custom_provider_map = [
    *[p for p in litellm.custom_provider_map if p.get("provider") not in _PROVIDERS],
    *[{"provider": name, "custom_handler": h} for name, h in _PROVIDERS.items()],  # type: ignore[list-item]
]


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
        _gateways[self.id] = self
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
        """Fail before a run starts if a model is unknown or its API key is missing."""
        for ref in refs:
            _name, cfg = self.table.resolve(ref)
            self._params(cfg)
            for fallback in cfg.fallbacks:
                self._params(self.table.aliases[fallback])

    def context_window(self, ref: str) -> int:
        """How many tokens the model behind ref reads."""
        _, cfg = self.table.resolve(ref)
        if cfg.model.startswith("local/"):
            return self.table.spec.local.n_ctx
        try:
            info = litellm.get_model_info(cfg.model)
            return int(info.get("max_input_tokens") or info.get("max_tokens") or 8192)
        except Exception:  # a model LiteLLM does not know
            return 8192

    def model_info(self, ref: str) -> dict[str, Any]:
        """What the model behind ref can do, truthfully, in AutoGen's ModelInfo keys."""
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
            raise ModelError(name, cfg.model, redact(_describe(exc))) from exc
        rows = sorted(response.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        return [list(r["embedding"] if isinstance(r, dict) else r.embedding) for r in rows]

    def count_tokens(self, ref: str, messages: list[dict[str, Any]]) -> int:
        """Prompt tokens as the model behind ref counts them."""
        _, cfg = self.table.resolve(ref)
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
                self._router = Router(
                    model_list=[
                        {"model_name": n, "litellm_params": self._params(c)}
                        for n, c in self._deployments.items()
                    ],
                    fallbacks=[
                        {n: list(c.fallbacks)} for n, c in self._deployments.items() if c.fallbacks
                    ],
                    num_retries=0,
                )
            return self._router

    def _start(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        agent: str | None,
        task: str | None,
        on_call: Callable[[CallRecord], None] | None,
        options: dict[str, Any],
    ) -> tuple[Router, _Call]:
        unknown = set(options) - CALL_OPTIONS
        if unknown:
            raise TypeError(f"unknown model call options: {', '.join(sorted(unknown))}")
        name, cfg = self.table.resolve(ref)
        kwargs: dict[str, Any] = {
            "model": name,
            "messages": messages,
            "num_retries": cfg.num_retries,
        }
        defaults = {"temperature": cfg.temperature, "max_tokens": cfg.max_tokens}
        for key in CALL_OPTIONS:
            value = options.get(key) if options.get(key) is not None else defaults.get(key)
            if value is not None and value != []:
                kwargs[key] = value
        return self._router_for(name, cfg), _Call(self, name, cfg, kwargs, agent, task, on_call)

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
        """One chat completion through the Router, reported to on_call (failed ones too).

        options: stop, tools, temperature, max_tokens, response_format; unset ones come
        from the alias in models.yaml."""
        if before_call is not None:  # a budget may refuse the call before anything is spent
            before_call(ref, messages)
        router, call = self._start(ref, messages, agent, task, on_call, options)
        if (hit := call.from_cache()) is not None:
            return hit
        try:
            response = router.completion(**call.kwargs)
        except Exception as exc:
            raise call.failed(exc) from exc
        return call.done(response)

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
        if before_call is not None:  # a budget may refuse the call before anything is spent
            before_call(ref, messages)
        router, call = self._start(ref, messages, agent, task, on_call, options)
        if (hit := call.from_cache()) is not None:
            return hit
        try:
            response = await router.acompletion(**call.kwargs)
        except Exception as exc:
            raise call.failed(exc) from exc
        return call.done(response)


@dataclass
class _Call:
    """One model call under way: turns its response or error into a result and a record."""

    gateway: Gateway
    alias: str
    cfg: AliasConfig
    kwargs: dict[str, Any]
    agent: str | None
    task: str | None
    on_call: Callable[[CallRecord], None] | None
    started: float = field(default_factory=time.perf_counter)

    def cache_key(self) -> str | None:
        """Only deterministic requests are cached: temperature 0, no tools."""
        cache = self.gateway.cache
        if cache is None or self.kwargs.get("temperature") != 0 or "tools" in self.kwargs:
            return None
        return cache.key(self.cfg.model, self.cfg.api_base, self.kwargs)

    def from_cache(self) -> Completion | None:
        key = self.cache_key()
        stored = self.gateway.cache.get(key) if key and self.gateway.cache else None
        if stored is None:
            return None
        result = Completion(**{**stored, "cost_usd": 0.0, "latency_ms": 0.0})
        latency = self._report(
            result.model, result.prompt_tokens, result.completion_tokens, 0.0, cached=True
        )
        return Completion(**{**stored, "cost_usd": 0.0, "latency_ms": latency})

    def _report(
        self,
        model: str,
        prompt: int,
        completion: int,
        cost: float,
        error: str | None = None,
        cached: bool = False,
    ) -> float:
        latency = (time.perf_counter() - self.started) * 1000
        if self.on_call:
            self.on_call(
                CallRecord(
                    self.alias,
                    model,
                    self.agent,
                    self.task,
                    prompt,
                    completion,
                    cost,
                    latency,
                    error,
                    cached,
                )
            )
        return latency

    def failed(self, exc: BaseException) -> ModelError:
        detail = redact(_describe(exc))
        self._report(self.cfg.model, 0, 0, 0.0, detail)
        return ModelError(self.alias, self.cfg.model, detail)

    def done(self, response: Any) -> Completion:
        choice = response.choices[0]
        message = choice.message
        usage = getattr(response, "usage", None)
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        model = str(response.model or self.cfg.model)
        cost = _cost(self.cfg, response, prompt, completion)
        latency = self._report(model, prompt, completion, cost)
        tool_calls = [tc.model_dump() for tc in (getattr(message, "tool_calls", None) or [])]
        result = Completion(
            text=message.content or "",
            model=model,
            alias=self.alias,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            latency_ms=latency,
            finish_reason=choice.finish_reason,
            tool_calls=tool_calls,
        )
        key = self.cache_key()
        if key and self.gateway.cache is not None and result.finish_reason in ("stop", None):
            self.gateway.cache.put(key, asdict(result))
        return result


def _cost(cfg: AliasConfig, response: Any, prompt: int, completion: int) -> float:
    if cfg.input_cost_per_token is not None or cfg.output_cost_per_token is not None:
        return prompt * (cfg.input_cost_per_token or 0) + completion * (
            cfg.output_cost_per_token or 0
        )
    if cfg.model.split("/", 1)[0] in FREE_PROVIDERS:
        return 0.0
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # LiteLLM knows no price for this model: count it as free
        return 0.0


def _describe(exc: BaseException) -> str:
    """The provider's own words, without LiteLLM's wrapping noise."""
    text = str(getattr(exc, "message", "") or exc)
    for prefix in ("litellm.", "LiteLLM "):
        text = text.replace(prefix, "")
    return f"{type(exc).__name__}: {text.strip()}"[:2000]
