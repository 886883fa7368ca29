"""Which tools a task is offered when its agent has more than max_tools: the ones whose name
and description are most like the task text, by embedding similarity (any embedder of
memory/embedders.py), or by shared words when no embedder is at hand."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Protocol

from crewyard.tools.spec import Tool


class TextEmbedder(Protocol):
    """The part of memory/embedders.py's Embedder selection uses."""

    def embed(self, texts: list[str]) -> list[list[float]]: ...


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


def tool_text(found: Tool) -> str:
    return f"{found.name.replace('_', ' ')}: {found.description}"


def scores(tools: list[Tool], text: str, embedder: TextEmbedder | None) -> list[float]:
    """How like text each tool is (higher is more)."""
    if embedder is not None:
        vectors = embedder.embed([text, *(tool_text(t) for t in tools)])
        return [_cosine(vectors[0], v) for v in vectors[1:]]
    wanted = _words(text)
    return [len(wanted & _words(tool_text(t))) / (1 + len(_words(tool_text(t)))) for t in tools]


def select(
    tools: list[Tool], text: str, limit: int, embedder: TextEmbedder | None = None
) -> tuple[list[Tool], list[float]]:
    """The limit tools most like text (in their declared order), and every tool's score."""
    if len(tools) <= limit:
        return tools, []
    got = scores(tools, text, embedder)
    ranked = sorted(range(len(tools)), key=lambda i: (-got[i], i))[:limit]
    return [tools[i] for i in sorted(ranked)], got
