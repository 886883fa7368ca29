"""Embedders behind one protocol. Default: WordLlama, whose weights ship in its wheel."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from crewyard.environ import imported


class Embedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class GatewayEmbedder:
    """Any LiteLLM embedding model (OpenAI, Cohere, Ollama, …) through crewyard's gateway,
    named by the `embed` alias of models.yaml. The dimension is read from a first call."""

    def __init__(self, gateway: Any, alias: str = "embed") -> None:
        self.gateway = gateway
        self.alias = alias
        _, cfg = gateway.table.resolve(alias)
        self.name = f"litellm/{cfg.model}"
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = len(self.embed(["dimension probe"])[0])
        return self._dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = self.gateway.embed(self.alias, texts) if texts else []
        if vectors:
            self._dim = len(vectors[0])
        return vectors


class FastEmbedEmbedder:
    """fastembed, when it is installed (its models download on first use: network needed)."""

    def __init__(self, model: str = "BAAI/bge-small-en-v1.5") -> None:
        try:
            from fastembed import TextEmbedding
        except ImportError as exc:
            from crewyard.errors import ConfigError

            raise ConfigError(
                "the fastembed embedder is configured but fastembed is not installed",
                key="CREWYARD_EMBEDDER",
                hint="pip install fastembed (it downloads its model on first use), or use "
                "the default: CREWYARD_EMBEDDER=wordllama",
            ) from exc
        self._model = TextEmbedding(model_name=model)
        self.name = f"fastembed/{model}"
        self.dim = len(next(iter(self._model.embed(["dimension probe"]))))

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, v)) for v in self._model.embed(texts)]


class WordLlamaEmbedder:
    """WordLlama l2_supercat, 256 dimensions, offline on the CPU, loaded once per process."""

    name = "wordllama/l2_supercat-256"
    dim = 256
    _model: Any = None
    _lock = threading.Lock()

    def _load(self) -> Any:
        with WordLlamaEmbedder._lock, imported("WordLlama"):
            if WordLlamaEmbedder._model is None:
                import logging

                # wordllama calls logging.basicConfig(level=INFO) on import, which would print
                # every library's INFO lines (CrewAI's among them) on the user's console
                root = logging.getLogger()
                handlers, level = list(root.handlers), root.level
                import wordllama
                from wordllama import WordLlama

                root.handlers[:] = handlers
                root.setLevel(level)

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
