"""LiteLLM, behind one module (the only litellm importer): the calls that send each attempt of
a model call, and what LiteLLM knows of models — prices, context windows, capabilities and
the key variables each provider reads. Imported only when a model LiteLLM serves is used, so
runs on the embedded model and the quick commands never load it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from crewyard.environ import imported, while_importing

# LiteLLM fetches its price list from the network at import unless told otherwise.
with imported("LiteLLM"), while_importing({"LITELLM_LOCAL_MODEL_COST_MAP": "True"}):
    import litellm

from crewyard.gateway.records import Reply, TextFn

litellm.telemetry = False
litellm.suppress_debug_info = True
# LiteLLM logs every failed attempt at ERROR; crewyard records each attempt itself.
for _name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

# One attempt per call: retries, fallbacks and cooldowns are the gateway's (attempts.py).
ONE_ATTEMPT = {"num_retries": 0, "max_retries": 0}


class LiteLLMRouter:
    """Deployments (alias → LiteLLM params), each called through litellm.completion itself.

    No litellm Router: with one deployment per alias and no retries, fallbacks or cooldowns of
    its own it only chose the one deployment, and its layers cost more CPU per call than the
    call's HTTP round trip (bench/gateway_overhead.py)."""

    def __init__(self, deployments: dict[str, dict[str, Any]]) -> None:
        self._params = {alias: {**params, **ONE_ATTEMPT} for alias, params in deployments.items()}
        # made known to LiteLLM here, before any call of theirs: a model registered while
        # another thread's call scans LiteLLM's map for an unknown name would change the map
        # under that scan (the gateway builds this under its lock, before the first call)
        for params in self._params.values():
            introduce(params["model"])

    def complete(
        self, alias: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        with _unlogged():
            response = litellm.completion(messages=messages, **self._params[alias], **options)
        return _reply(response)

    async def acomplete(
        self, alias: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        with _unlogged():
            response = await litellm.acompletion(
                messages=messages, **self._params[alias], **options
            )
        return _reply(response)

    def stream(
        self, alias: str, messages: list[dict[str, Any]], options: dict[str, Any], on_text: TextFn
    ) -> Reply:
        """complete(), streamed: each piece of text to on_text; the reply is rebuilt from the
        chunks by LiteLLM, with the provider's own usage (its last chunk) and price."""
        chunks: list[Any] = []
        with _unlogged():
            response = litellm.completion(
                messages=messages, **self._params[alias], **options, **STREAMED
            )
            for chunk in response:
                chunks.append(chunk)
                if text := _delta(chunk):
                    on_text(text)
        return _joined(chunks, messages)

    async def astream(
        self, alias: str, messages: list[dict[str, Any]], options: dict[str, Any], on_text: TextFn
    ) -> Reply:
        chunks: list[Any] = []
        with _unlogged():
            response = await litellm.acompletion(
                messages=messages, **self._params[alias], **options, **STREAMED
            )
            async for chunk in response:
                chunks.append(chunk)
                if text := _delta(chunk):
                    on_text(text)
        return _joined(chunks, messages)

    def embed(self, alias: str, texts: list[str]) -> list[list[float]]:
        with _unlogged():
            response = litellm.embedding(input=list[object](texts), **self._params[alias])
        rows = sorted(response.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
        return [list(r["embedding"] if isinstance(r, dict) else r.embedding) for r in rows]


def introduce(model: str) -> None:
    """Register a chat model LiteLLM knows nothing of (a local server's, a new name) with its
    provider alone, no price or limits: LiteLLM looks a model up ~11 times a call, and for a
    model missing from its map each lookup scans its name against every fallback pattern
    (~1 ms of a call's CPU, bench/gateway_overhead.py). What LiteLLM reports of the model is
    unchanged: no price (free), the default context window, no capabilities."""
    try:
        litellm.get_model_info(model)
        return  # known (or matched by one of LiteLLM's patterns): nothing to add
    except Exception:
        pass
    try:
        provider = litellm.get_llm_provider(model)[1]
    except Exception:  # no provider: the call itself will say so
        return
    entry = {"litellm_provider": provider, "mode": "chat"}
    litellm.register_model({model: entry}, add_to_provider_model_sets=False)


_quiet: Callable[[], contextlib.AbstractContextManager[None]] | None
try:  # LiteLLM's mark for its own nested calls: no success/failure logging task after them
    from litellm._internal_context import internal_sub_call as _quiet
except ImportError:  # a LiteLLM without it: its logging runs, nothing else changes
    _quiet = None


@contextlib.contextmanager
def _unlogged() -> Iterator[None]:
    """Skip LiteLLM's after-call logging when no LiteLLM callback would read it: it priced the
    reply a second time and built a logging payload per call (~15% of a call's CPU); the
    gateway records every attempt itself, with the cost LiteLLM already put on the reply."""
    if _quiet is None or litellm.callbacks or litellm.success_callback or litellm.failure_callback:
        yield
        return
    with _quiet():
        yield


# a streamed reply's usage comes in its last chunk only when asked for
STREAMED: dict[str, Any] = {"stream": True, "stream_options": {"include_usage": True}}


def _delta(chunk: Any) -> str | None:
    choices = getattr(chunk, "choices", None)
    return getattr(choices[0].delta, "content", None) if choices else None


def _joined(chunks: list[Any], messages: list[dict[str, Any]]) -> Reply:
    built = litellm.stream_chunk_builder(chunks, messages=messages)
    if built is None:  # no chunk came at all
        raise ConnectionError("the provider's stream ended before any reply")
    return _reply(built)


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
    # LiteLLM priced the call as it returned it (None: it knows no price); pricing it again
    # costs ~1 ms a call, and fails the same way for a model it knows no price of
    hidden = getattr(response, "_hidden_params", None) or {}
    if "response_cost" in hidden:
        return float(hidden["response_cost"] or 0.0)
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:  # LiteLLM knows no price for this model: count it as free
        return 0.0


def model_problem(model: str) -> str | None:
    """Why LiteLLM cannot call a model string (no provider it knows of), or None."""
    try:
        litellm.get_llm_provider(model)
    except Exception:
        return "LiteLLM knows no provider for this model name"
    return None


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
