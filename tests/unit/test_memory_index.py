"""The exact numpy index behind embedded-mode searches agrees with Qdrant and brute force."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memory.clients import _local_clients
from memory.embedders import WordLlamaEmbedder
from memory.index import ExactIndex
from memory.store import MemoryStore


def test_top_k_filters_updates_and_removals() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((300, 8)).astype(np.float32)
    index = ExactIndex(8)
    index.upsert(
        [f"p{i}" for i in range(300)],
        vectors,
        [{"crew": "a" if i % 3 else "b"} for i in range(300)],
    )
    query = rng.standard_normal(8).astype(np.float32)
    normed = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    expected = [f"p{i}" for i in np.argsort(-(normed @ query))[:5]]
    assert [pid for pid, _, _ in index.search(query.tolist(), 5)] == expected
    only_b = index.search(query.tolist(), 5, {"crew": "b"})
    assert len(only_b) == 5 and all(p["crew"] == "b" for _, _, p in only_b)
    index.upsert(["p7"], [query.tolist()], [{"crew": "z"}])  # update in place
    assert index.search(query.tolist(), 1)[0][0] == "p7" and len(index) == 300
    index.remove(["p7", "nope"])
    assert len(index) == 299 and index.search(query.tolist(), 1)[0][0] != "p7"
    assert index.search(query.tolist(), 3, {"crew": "nobody"}) == []


def test_reopened_store_searches_what_is_on_disk(tmp_path: Path) -> None:
    store = MemoryStore.open(WordLlamaEmbedder(), path=tmp_path / "q")
    store.add_fact("Sodium-ion cells avoid lithium entirely", crew="a", run_id="1")
    store.add_fact("Tidal power follows the moon", crew="b", run_id="2")
    vector = store.embedder.embed(["sodium batteries"])[0]
    from_qdrant = store.client.query_points("crewyard_facts", query=vector, limit=2).points
    _local_clients.pop(str((tmp_path / "q").resolve())).close()  # as if a new process
    reopened = MemoryStore.open(WordLlamaEmbedder(), path=tmp_path / "q")
    found = reopened.search_vector(vector, scopes=("facts",), k=2)
    assert [f.id for f in found] == [str(p.id) for p in from_qdrant]
    assert abs((found[0].score or 0) - from_qdrant[0].score) < 1e-4
    assert [
        f.payload["crew"] for f in reopened.search_vector(vector, scopes=("facts",), crew="b")
    ] == ["b"]
