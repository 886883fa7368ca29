"""Recall latency of the embedded memory store (qdrant-client local mode, a collection per
scope) against brute-force numpy cosine search over the same vectors, unfiltered and filtered
by scope, at 1k, 10k and 100k stored memories, in one run.
Target: filtered p95 within 1.5× of numpy and under 50 ms at 100k.

    .venv/bin/python bench/memory_recall.py [sizes...]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qdrant_client import QdrantClient
from qdrant_client import models as qm

DIM = 256
QUERIES = 50
SCOPES = ("short_term", "facts", "entities", "episodes")


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def bench(size: int, rng: np.random.Generator) -> None:
    vectors = rng.standard_normal((size, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    scopes = np.array([SCOPES[i % len(SCOPES)] for i in range(size)])
    queries = rng.standard_normal((QUERIES, DIM)).astype(np.float32)
    client = QdrantClient(":memory:")
    # crewyard's layout: one collection per scope, so a scope filter is a collection choice
    for scope in SCOPES:
        client.create_collection(
            f"m_{scope}", qm.VectorParams(size=DIM, distance=qm.Distance.COSINE)
        )
        idx = np.nonzero(scopes == scope)[0]
        for start in range(0, len(idx), 2000):
            chunk = idx[start : start + 2000]
            client.upload_collection(
                f"m_{scope}",
                vectors=vectors[chunk],
                payload=[{"scope": scope}] * len(chunk),
                ids=[int(i) for i in chunk],
            )
    timings: dict[str, list[float]] = {
        k: [] for k in ("numpy all", "qdrant all", "numpy facts", "qdrant facts")
    }
    facts_vectors = vectors[scopes == "facts"]
    for q in queries:
        t = time.perf_counter()
        np.argpartition(-(vectors @ q), 5)[:5]
        timings["numpy all"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for scope in SCOPES:
            client.query_points(f"m_{scope}", query=q.tolist(), limit=5)
        timings["qdrant all"].append(time.perf_counter() - t)
        t = time.perf_counter()
        np.argpartition(-(facts_vectors @ q), 5)[:5]
        timings["numpy facts"].append(time.perf_counter() - t)
        t = time.perf_counter()
        client.query_points("m_facts", query=q.tolist(), limit=5)
        timings["qdrant facts"].append(time.perf_counter() - t)
    print(f"  {size:>7} memories")
    for name, samples in timings.items():
        p50, p95 = percentiles(samples)
        print(f"    {name:<14} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")
    ratio = percentiles(timings["qdrant facts"])[1] / percentiles(timings["numpy facts"])[1]
    print(f"    filtered (one scope) p95: {ratio:.1f}× numpy")


def main(sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    print(
        f"memory recall, top-5 of {QUERIES} queries, {DIM} dimensions "
        "(target: filtered p95 ≤ 1.5× numpy, < 50 ms at 100k)"
    )
    for size in sizes:
        bench(size, rng)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000, 10_000, 100_000])
