"""LiteLLM, behind one module (the only litellm importer): the Router that sends each attempt
of a model call, and what LiteLLM knows of models — prices, context windows, capabilities and
the key variables each provider reads. Imported only when a model LiteLLM serves is used, so
runs on the embedded model and the quick commands never load it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from crewyard.environ import while_importing

# LiteLLM fetches its price list from the network at import unless told otherwise.
with while_importing({"LITELLM_LOCAL_MODEL_COST_MAP": "True"}):
    import litellm
    from litellm.router import Router

from crewyard.gateway.records import Reply

litellm.telemetry = False
litellm.suppress_debug_info = True
# LiteLLM logs every failed attempt at ERROR; crewyard records each attempt itself.
for _name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)


class LiteLLMRouter:
    """A Router over deployments (alias → LiteLLM params). It sends one attempt per call:
    retries, fallbacks and cooldowns are the gateway's, so every attempt is seen and recorded."""

    def __init__(self, deployments: dict[str, dict[str, Any]]) -> None:
        self._router = Router(
            model_list=[
                {"model_name": alias, "litellm_params": params}
                for alias, params in deployments.items()
            ],
            num_retries=0,
            disable_cooldowns=True,
        )

    def complete(
        self, alias: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        return _reply(self._router.completion(model=alias, messages=messages, **options))

    async def acomplete(
        self, alias: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        return _reply(await self._router.acompletion(model=alias, messages=messages, **options))

    def embed(self, alias: str, texts: list[str]) -> list[list[float]]:
        response = self._router.embedding(model=alias, input=list[object](texts))
        rows = sorted(response.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        return [list(r["embedding"] if isinstance(r, dict) else r.embedding) for r in rows]


def _reply(response: Any) -> Reply:
    choice = response.choices[0]
    message = choice.message
    usage = getattr(response, "usage", None)
    return Reply(
        text=message.content or "",
        model=str(response.model or ""),
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        finish_reason=choice.finish_reason,
        tool_calls=[tc.model_dump() for tc in (getattr(message, "tool_calls", None) or [])],
        cost_usd=_price(response),
    )


def _price(response: Any) -> float:
    # LiteLLM priced the call while logging it; pricing it again costs ~1 ms a call
    priced = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if priced is not None:
        return float(priced)
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # LiteLLM knows no price for this model: count it as free
        return 0.0


def missing_keys(model: str) -> list[str]:
    """The key variables the model's provider reads, when none of them is set."""
    try:
        found = litellm.validate_environment(model=model)
    except Exception:  # a provider LiteLLM cannot judge: the first call will tell
        return []
    missing = [k for k in found.get("missing_keys", []) if not k.endswith("_API_BASE")]
    return [] if found.get("keys_in_environment") else missing


def context_window(model: str) -> int:
    try:
        info = litellm.get_model_info(model)
        return int(info.get("max_input_tokens") or info.get("max_tokens") or 8192)
    except Exception:  # a model LiteLLM does not know
        return 8192


def capabilities(model: str) -> dict[str, bool]:
    def supports(check: Callable[..., bool]) -> bool:
        try:
            return bool(check(model=model))
        except Exception:  # unknown to LiteLLM
            return False

    structured = supports(litellm.supports_response_schema)
    return {
        "vision": supports(litellm.supports_vision),
        "function_calling": supports(litellm.supports_function_calling),
        "json_output": structured,
        "structured_output": structured,
    }


# tiktoken (LiteLLM's tokenizer) keeps a regex and its caches for each thread that encodes,
# in up to 128 slots never freed (~190 KB each). Engines call from fresh threads every run
# (CrewAI runs each task on a new event loop's executor), so a long-lived worker grew ~45 MB:
# tokens are counted on one thread of the process instead.
_COUNTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crewyard-tokens")


def count_tokens(model: str, messages: list[dict[str, Any]]) -> int:
    return int(_COUNTER.submit(litellm.token_counter, model=model, messages=messages).result())
