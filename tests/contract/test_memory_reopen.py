"""The embedded store, reopened: its exact index is rebuilt from what Qdrant holds on disk."""

from __future__ import annotations

from pathlib import Path

from crewyard.memory.clients import _local_clients
from crewyard.memory.embedders import WordLlamaEmbedder
from crewyard.memory.store import MemoryStore


def test_reopened_store_searches_what_is_on_disk(tmp_path: Path) -> None:
    store = MemoryStore.open(WordLlamaEmbedder(), path=tmp_path / "q")
    store.add_fact("Sodium-ion cells avoid lithium entirely", crew="a", run_id="1")
    store.add_fact("Tidal power follows the moon", crew="b", run_id="2")
    vector = store.embedder.embed(["sodium batteries"])[0]
    from_qdrant = store.client.query_points("crewyard_facts", query=vector, limit=2).points
    store.close()  # its last holder lets go: the client is closed, as in a new process
    assert str((tmp_path / "q").resolve()) not in _local_clients
    reopened = MemoryStore.open(WordLlamaEmbedder(), path=tmp_path / "q")
    found = reopened.search_vector(vector, scopes=("facts",), k=2)
    assert [f.id for f in found] == [str(p.id) for p in from_qdrant]
    assert abs((found[0].score or 0) - from_qdrant[0].score) < 1e-4
    assert [
        f.payload["crew"] for f in reopened.search_vector(vector, scopes=("facts",), crew="b")
    ] == ["b"]
