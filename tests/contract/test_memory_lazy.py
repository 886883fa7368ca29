"""The built-in memory opened lazily: a run on a data folder whose store was never made
recalls nothing without opening Qdrant; the first write makes it; later ones read it."""

from __future__ import annotations

import pytest

from crewyard.memory import lazy_memory, nothing_stored
from crewyard.settings import Settings


def test_the_embedded_store_is_made_by_the_first_write_only(settings: Settings) -> None:
    folder = settings.data_dir / "qdrant"
    first = lazy_memory(settings)
    assert nothing_stored(settings)
    assert first.search("sodium-ion batteries") == []
    assert not folder.exists()  # nothing opened, nothing made

    first.add_fact("Sodium-ion cells avoid lithium entirely", crew="research", run_id="r1")
    assert folder.exists() and not nothing_stored(settings)
    assert [i.text for i in first.search("sodium-ion cells", scopes=("facts",))] == [
        "Sodium-ion cells avoid lithium entirely"
    ]
    first.close()

    later = lazy_memory(settings)  # a new run: the store exists, so a search opens it
    found = later.search("sodium-ion cells", scopes=("facts",))
    assert [i.payload["run_id"] for i in found] == ["r1"]
    assert later.forget_where("facts", run_id="r1") == 1
    later.close()


def test_a_server_is_always_asked(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:1")
    assert not nothing_stored(settings)  # a server may hold anything: never assumed empty
