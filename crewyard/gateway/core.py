"""The model gateway: every model call of every engine goes through here. models.yaml aliases
name models; a model string's prefix picks a provider (`local/`, `scripted/`, see providers/)
and everything else to LiteLLM (gateway/router.py, imported on first use);
`model: auto` is routed by complexity; retries, fallbacks, cooldowns and rates are the
gateway's own (attempts, throttle). A run calls through its own view, `for_run()`."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from crewyard.errors import ConfigError, CrewyardError, ModelError
from crewyard.gateway import complexity
from crewyard.gateway.attempts import Attempt, ContextWindowExceededError, Cooldowns
from crewyard.gateway.bound import RunGateway
from crewyard.gateway.cache import ResponseCache
from crewyard.gateway.call import Call, ChunkSink, describe
from crewyard.gateway.config import AUTO, AliasConfig, ModelTable
from crewyard.gateway.providers import Provider, Streaming, factories
from crewyard.gateway.providers.scripted import ReplyFn, Script, ScriptedProvider
from crewyard.gateway.records import ChunkFn, Completion, Reply
from crewyard.gateway.stopping import Stopping
from crewyard.gateway.tapes import NO_TAPE, Request, Tape
from crewyard.gateway.throttle import Throttle
from crewyard.gateway.usage import NO_LIMITS, Limits
from crewyard.redact import redact, treat_as_secret
from crewyard.tools import formats

if TYPE_CHECKING:
    from collections.abc import Callable

    from crewyard.gateway.records import CallRecord
    from crewyard.gateway.router import LiteLLMRouter


class Gateway:
    """Aliases → providers or LiteLLM Router deployments, shared by every run of a process."""

    def __init__(self, table: ModelTable, cache: ResponseCache | None = None) -> None:
        self.table = table
        self.cache = cache
        self.providers: dict[str, Provider] = {p: make(table) for p, make in factories().items()}
        self.cooldowns = Cooldowns()
        self.throttle = Throttle()
        self._router: LiteLLMRouter | None = None
        self._deployments: dict[str, AliasConfig] = {}
        self._windows: dict[str, int] = {}  # alias → context window, asked of each call
        self._capable: dict[str, dict[str, bool]] = {}  # alias → capabilities (~1 ms each)
        self._lock = threading.Lock()
        self.stopping = Stopping()  # Ctrl-C: interrupt()

    def interrupt(self) -> None:
        """Stop every call under way now (each raises Interrupted) and refuse later ones:
        a network call is not waited for, the embedded model stops at its next token."""
        self.stopping.stop()
        for provider in self.providers.values():
            if (stop := getattr(provider, "interrupt", None)) is not None:
                stop()

    # --- a run's view, and calls made outside any run --------------------------------------

    def for_run(
        self,
        *,
        limits: Limits = NO_LIMITS,
        on_record: Callable[[CallRecord], None] | None = None,
        tape: Tape = NO_TAPE,
        on_chunk: ChunkFn | None = None,
    ) -> RunGateway:
        """The gateway as one run sees it: its budget, its records, its tape, and who reads
        its replies as they stream (None: nobody; no call is streamed)."""
        return RunGateway(self, limits=limits, on_record=on_record, tape=tape, on_chunk=on_chunk)

    def complete(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        *,
        agent: str | None = None,
        task: str | None = None,
        **options: Any,
    ) -> Completion:
        """One call outside any run (nothing recorded, no budget). See RunGateway.complete."""
        return self.for_run().complete(ref, messages, agent=agent, task=task, **options)

    # --- scripted replies (tests, offline checks) ------------------------------------------

    @property
    def scripts(self) -> dict[str, Script]:
        return cast(ScriptedProvider, self.providers["scripted"]).scripts

    def register_script(self, name: str, replies: Sequence[str] | ReplyFn) -> Script:
        """Make `scripted/<name>` answer with these replies (or this function)."""
        return cast(ScriptedProvider, self.providers["scripted"]).register(name, replies)

    # --- what a model is, before any call --------------------------------------------------

    def provider(self, model: str) -> tuple[Provider, str] | None:
        """The provider serving a model string, and the model's name after the prefix."""
        prefix, _, name = model.partition("/")
        found = self.providers.get(prefix)
        return (found, name) if found is not None else None

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
        if cfg.api_key_env or cfg.api_base or self.provider(cfg.model) is not None:
            return
        from crewyard.gateway.router import missing_keys, model_problem

        if problem := model_problem(cfg.model):
            raise ConfigError(
                f"model {cfg.model!r}: {problem}",
                file=self.table.source,
                hint="write provider/model, such as openai/gpt-4o-mini or "
                "anthropic/claude-3-5-haiku-latest, or an alias of models.yaml",
            )
        missing = missing_keys(cfg.model)
        if missing:
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
        if (known := self._windows.get(ref)) is not None:
            return known
        _, cfg = self.table.resolve(ref)
        if served := self.provider(cfg.model):
            window = served[0].context_window(served[1])
        else:
            from crewyard.gateway import router

            window = router.context_window(cfg.model)
        self._windows[ref] = window
        return window

    def model_info(self, ref: str) -> dict[str, Any]:
        """What the model behind ref can do, truthfully, in AutoGen's ModelInfo keys (for
        auto: only what every tier's model can do)."""
        infos = [self._capabilities(c) for c in self.table.candidates(ref)]
        both = {key: all(i[key] for i in infos) for key in infos[0]}
        return {**both, "family": "unknown", "multiple_system_messages": True}

    def _capabilities(self, ref: str) -> dict[str, bool]:
        if ref not in self._capable:
            _, cfg = self.table.resolve(ref)
            if served := self.provider(cfg.model):
                self._capable[ref] = served[0].capabilities(served[1])
            else:
                from crewyard.gateway import router

                self._capable[ref] = router.capabilities(cfg.model)
        return self._capable[ref]

    def count_tokens(self, ref: str, messages: list[dict[str, Any]]) -> int:
        """Prompt tokens as the model behind ref counts them (auto: the standard tier's)."""
        _, cfg = self.table.resolve(
            self.table.spec.routing.alias_for("standard") if ref == AUTO else ref
        )
        if served := self.provider(cfg.model):
            text = "\n".join(str(m.get("content") or "") for m in messages)
            return served[0].count_tokens(served[1], text)
        from crewyard.gateway import router

        return router.count_tokens(cfg.model, messages)

    def embed(self, ref: str, texts: list[str]) -> list[list[float]]:
        """Embeddings through LiteLLM (the alias's model)."""
        name, cfg = self.table.resolve(ref)
        if self.provider(cfg.model) is not None:
            raise ConfigError(
                f"model alias {name!r} ({cfg.model}) cannot embed text",
                file=self.table.source,
                hint="point the `embed` alias at a LiteLLM embedding model, "
                "e.g. openai/text-embedding-3-small",
            )
        try:
            return self._litellm(name, cfg).embed(name, texts)
        except Exception as exc:
            raise ModelError(name, cfg.model, redact(describe(exc))) from exc

    # --- sending one call: its route and attempts ------------------------------------------

    def route(
        self, messages: list[dict[str, Any]], task: str | None, run: RunGateway
    ) -> tuple[str, str]:
        """(alias, reason) for a `model: auto` request, by the routing in models.yaml; a classifier
        model's call is the run's like any other (agent `router`), never part of a tape."""
        routing = self.table.spec.routing
        tier, reason = complexity.classify(messages)
        if routing.classifier == "model":
            try:
                reply = self.send(
                    Request(
                        routing.classifier_model,
                        complexity.classifier_messages(messages),
                        {
                            "temperature": 0,
                            "max_tokens": 20,
                            "response_format": formats.json_schema(
                                "tier", complexity.CLASSIFIER_SCHEMA
                            ),
                        },
                        "router",
                        task,
                    ),
                    run,
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

    def _begin(self, request: Request, run: RunGateway) -> Call:
        if request.ref != AUTO:
            return Call(self, run, request.ref, request)
        alias, note = self.route(request.messages, request.task, run)
        return Call(self, run, alias, request, note)

    def send(self, request: Request, run: RunGateway, sink: ChunkSink | None = None) -> Completion:
        """One call: from the cache, or attempt by attempt (retries, fallbacks), recorded;
        with a sink, each attempt's reply streamed into it as it arrives."""
        call = self._begin(request, run)
        call.sink = sink
        if (hit := call.from_cache()) is not None:
            return hit
        while (attempt := call.next()) is not None:
            while wait := call.wait(attempt):
                self.stopping.sleep(wait)
            self.stopping.check()
            try:
                return call.done(attempt, self._reply(attempt, call))
            except Exception as exc:
                call.failed(attempt, exc)
        raise call.give_up()

    async def asend(
        self, request: Request, run: RunGateway, sink: ChunkSink | None = None
    ) -> Completion:
        """send() for async engines."""
        # routing `auto` may ask a classifier model: keep that call off the event loop
        if request.ref == AUTO:
            call = await asyncio.to_thread(self._begin, request, run)
        else:
            call = self._begin(request, run)
        call.sink = sink
        if (hit := call.from_cache()) is not None:
            return hit
        while (attempt := call.next()) is not None:
            while wait := call.wait(attempt):
                await asyncio.sleep(wait)
            self.stopping.check()
            try:
                return call.done(attempt, await self._areply(attempt, call))
            except Exception as exc:
                call.failed(attempt, exc)
        raise call.give_up()

    def _fits(self, attempt: Attempt, call: Call, options: dict[str, Any]) -> None:
        """Refuse, before sending, a prompt the alias's model cannot read (a 10 MB input is
        never tokenized, let alone sent): a fallback with a longer context may take it."""
        window = self._context_window(attempt.alias)
        reply = int(options.get("max_tokens") or 0)
        chars = sum(len(str(m.get("content") or "")) for m in call.messages)
        if chars // 4 <= (window - reply) // 2:
            return  # far inside the window: no need to count
        tokens = chars // 4 if chars // 4 > 4 * window else None
        if tokens is None:
            tokens = self.count_tokens(attempt.alias, call.messages)
        if tokens + reply > window:
            who = ", ".join(
                f"{k} {v!r}" for k, v in (("task", call.task), ("agent", call.agent)) if v
            )
            raise ContextWindowExceededError(
                f"the prompt{f' ({who})' if who else ''} has about {tokens:,} tokens; "
                f"{attempt.cfg.model} reads {window:,} in all, {reply:,} of them kept for the "
                "reply: shorten the inputs (or what the task reads), or use a model with a "
                "longer context"
            )

    def _reply(self, attempt: Attempt, call: Call) -> Reply:
        """One attempt, streamed when someone listens (a provider that cannot stream gives
        its whole reply as one piece)."""
        options = call.options_for(attempt)
        self._fits(attempt, call, options)
        on_text = call.streamer(attempt)
        if served := self.provider(attempt.cfg.model):
            provider, name = served
            call.run.sending()
            if on_text is None:
                return provider.complete(name, call.messages, options)
            if hasattr(provider, "stream"):
                return cast(Streaming, provider).stream(name, call.messages, options, on_text)
            return _whole(provider.complete(name, call.messages, options), call, attempt)
        router = self._litellm(attempt.alias, attempt.cfg)
        call.run.sending()
        if on_text is None:  # a network call: not waited for once the gateway is stopped
            return self.stopping.call(
                lambda: router.complete(attempt.alias, call.messages, options)
            )
        return self.stopping.call(
            lambda: router.stream(attempt.alias, call.messages, options, on_text)
        )

    async def _areply(self, attempt: Attempt, call: Call) -> Reply:
        options = call.options_for(attempt)
        self._fits(attempt, call, options)
        on_text = call.streamer(attempt)
        if served := self.provider(attempt.cfg.model):
            provider, name = served
            call.run.sending()
            if on_text is None:
                return await provider.acomplete(name, call.messages, options)
            if hasattr(provider, "astream"):
                streaming = cast(Streaming, provider)
                return await streaming.astream(name, call.messages, options, on_text)
            return _whole(await provider.acomplete(name, call.messages, options), call, attempt)
        router = self._litellm(attempt.alias, attempt.cfg)
        call.run.sending()
        if on_text is None:
            replying = router.acomplete(attempt.alias, call.messages, options)
        else:
            replying = router.astream(attempt.alias, call.messages, options, on_text)
        return await self.stopping.acall(replying)

    def _params(self, cfg: AliasConfig) -> dict[str, Any]:
        params: dict[str, Any] = {"model": cfg.model, "timeout": cfg.timeout}
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

    def _litellm(self, name: str, cfg: AliasConfig) -> LiteLLMRouter:
        """The Router, with a deployment for every alias LiteLLM serves (built on first use)."""
        from crewyard.gateway.router import LiteLLMRouter

        with self._lock:
            if self._router is None or name not in self._deployments:
                served = {
                    n: c for n, c in self.table.aliases.items() if self.provider(c.model) is None
                }
                self._deployments.update(served)
                self._deployments[name] = cfg
                self._router = LiteLLMRouter(
                    {n: self._params(c) for n, c in self._deployments.items()}
                )
            return self._router


def _whole(reply: Reply, call: Call, attempt: Attempt) -> Reply:
    """A provider that cannot stream: its reply reaches the listeners in one piece."""
    if reply.text and (deliver := call.streamer(attempt, whole=True)) is not None:
        deliver(reply.text)
    return reply
