"""LiteLLM custom providers: `local/<name>` runs the embedded llama.cpp model, `scripted/<name>`
replies from a registered Script. A gateway's deployments name it (`local/<gateway id>.<name>`)
so a provider finds its owner's settings."""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import TYPE_CHECKING, Any

import litellm
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import ModelResponse

from crewyard import local_model
from crewyard.errors import CrewyardError
from crewyard.scripted import ScriptExhausted, approx_tokens

if TYPE_CHECKING:
    from crewyard.gateway.core import Gateway

FREE_PROVIDERS = ("local", "scripted")
# Gateways alive in this process, so the custom providers can find their owner's settings.
GATEWAYS: weakref.WeakValueDictionary[str, Gateway] = weakref.WeakValueDictionary()


def owner(model: str) -> tuple[Gateway, str]:
    gateway_id, _, name = model.partition(".")
    gateway = GATEWAYS.get(gateway_id)
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
        gateway, _ = owner(model)
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
        gateway, name = owner(model)
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
