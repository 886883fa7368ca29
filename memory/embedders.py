"""Embedders behind one protocol. Default: WordLlama, whose weights ship in its wheel."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class WordLlamaEmbedder:
    """WordLlama l2_supercat, 256 dimensions, offline on the CPU, loaded once per process."""

    name = "wordllama/l2_supercat-256"
    dim = 256
    _model: Any = None
    _lock = threading.Lock()

    def _load(self) -> Any:
        with WordLlamaEmbedder._lock:
            if WordLlamaEmbedder._model is None:
                import wordllama
                from wordllama import WordLlama

                # load() looks for the tokenizer in the wrong folder and would download it;
                # the package folder holds everything.
                folder = Path(wordllama.__file__).parent
                WordLlamaEmbedder._model = WordLlama.load(
                    cache_dir=folder, disable_download=True, dim=self.dim
                )
            return WordLlamaEmbedder._model

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._load().embed(texts, norm=True)
        return [list(map(float, v)) for v in vectors]
