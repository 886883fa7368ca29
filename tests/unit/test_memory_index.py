"""The exact numpy index behind embedded-mode searches agrees with Qdrant and brute force."""

from __future__ import annotations

import numpy as np

from crewyard.memory.index import ExactIndex


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
