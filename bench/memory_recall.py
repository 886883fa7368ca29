"""Recall latency of crewyard's embedded memory store (Qdrant on disk as the durable copy,
exact numpy indexes answering searches) against brute-force numpy cosine search over the same
vectors (scores, top k in order), at 1k, 10k and 100k stored memories, unfiltered and filtered
(by scope, and by scope and crew), in one run. Also qdrant-client's own local-mode search,
for reference.
Target: filtered p95 within 1.5× of numpy and under 50 ms at 100k.

    .venv/bin/python bench/memory_recall.py [sizes...]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crewyard.memory.store import SCOPES, MemoryStore

DIM = 256
QUERIES = 500
CREWS = ("research", "debate", "coding", "launch_plan", "other")


class Precomputed:
    """The benchmark supplies vectors; embedding time is not what is measured."""

    name = "wordllama/l2_supercat-256"
    dim = DIM

    def embed(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError


def brute_force(matrix: np.ndarray, query: np.ndarray, k: int = 5) -> np.ndarray:
    """The baseline: cosine scores of every vector, the top k in order, with their scores."""
    scores = matrix @ (query / np.linalg.norm(query))
    top = np.argpartition(-scores, k - 1)[:k]
    return scores[top[np.argsort(-scores[top])]]


def p95(samples: list[float]) -> float:
    return sorted(samples)[int(0.95 * (len(samples) - 1))] * 1000


def bench(size: int, rng: np.random.Generator, folder: Path) -> None:
    vectors = rng.standard_normal((size, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scope_of = np.array([SCOPES[i % 4] for i in range(size)])
    crew_of = np.array([CREWS[(i // 4) % 5] for i in range(size)])
    store = MemoryStore.open(Precomputed(), path=folder / f"q{size}")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # local mode warns above 20k points: that is the point
        for scope in SCOPES:
            rows = np.nonzero(scope_of == scope)[0]
            store.client.upload_collection(
                store._collection(scope),
                vectors=vectors[rows],
                ids=[int(r) for r in rows],
                payload=[{"crew": str(crew_of[r]), "text": f"m{r}"} for r in rows],
            )
    started = time.perf_counter()
    for scope in SCOPES:
        store._index(store._collection(scope))
    load = time.perf_counter() - started
    facts = vectors[scope_of == "facts"]
    facts_crew = vectors[(scope_of == "facts") & (crew_of == "research")]
    cases = {
        "all scopes": (vectors, {}),
        "one scope": (facts, {"scopes": ("facts",)}),
        "scope + crew": (facts_crew, {"scopes": ("facts",), "crew": "research"}),
    }
    print(f"  {size:>7} memories (index loaded from disk in {load * 1000:.0f} ms)")
    for name, (matrix, kwargs) in cases.items():
        ours, numpy_ = [], []
        # the first filtered search selects the filter's rows, as the baseline's matrix was
        store.search_vector(vectors[0], k=5, **kwargs)  # type: ignore[arg-type]
        for q in rng.standard_normal((QUERIES, DIM)).astype(np.float32):
            t = time.perf_counter()
            brute_force(matrix, q)
            numpy_.append(time.perf_counter() - t)
            t = time.perf_counter()
            store.search_vector(q, k=5, **kwargs)  # type: ignore[arg-type]
            ours.append(time.perf_counter() - t)
        print(
            f"    {name:<13} numpy p95 {p95(numpy_):6.2f} ms   crewyard p95 {p95(ours):6.2f} ms"
            f"   {p95(ours) / p95(numpy_):5.1f}×   (p50 {statistics.median(ours) * 1000:.2f} ms)"
        )
    plain = []
    for q in rng.standard_normal((10, DIM)).astype(np.float32):
        t = time.perf_counter()
        store.client.query_points(store._collection("facts"), query=q.tolist(), limit=5)
        plain.append(time.perf_counter() - t)
    print(
        f"    (qdrant-client local-mode search of one scope, for reference: p95 "
        f"{p95(plain):.1f} ms)"
    )


def main(sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    print(
        f"memory recall, top-5, {QUERIES} queries, {DIM} dimensions "
        "(target: filtered p95 ≤ 1.5× numpy and < 50 ms at 100k)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            bench(size, rng, Path(tmp))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000])
