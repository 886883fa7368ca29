"""The Qdrant memory on :memory: and on disk: every scope, dedup, merge, filters, retention,
schema versions, and the one-process lock of the embedded store."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crewyard.errors import ConfigError
from crewyard.memory import Episode
from crewyard.memory.embedders import WordLlamaEmbedder
from crewyard.memory.store import MemoryStore, point_id
from tests.conftest import cli_uses


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore.open(WordLlamaEmbedder())


def test_near_identical_facts_update_one_point(store: MemoryStore) -> None:
    first = store.add_fact("Sodium-ion cells use sodium instead of lithium.", crew="a", run_id="1")
    again = store.add_fact("Sodium-ion cells use sodium instead of lithium", crew="b", run_id="2")
    other = store.add_fact("Tidal power depends on the moon.", crew="a", run_id="1")
    assert first == again != other
    assert store.stats()["facts"] == 2
    fact = store.get(first)
    assert fact is not None and fact.payload["times_seen"] == 2
    # it keeps the run that first taught it (forget --run 2 leaves it), and where it was seen
    assert (fact.payload["crew"], fact.payload["run_id"]) == ("a", "1")
    assert fact.payload["seen_in"] == ["1", "2"]


def test_entities_merge_attributes_in_place(store: MemoryStore) -> None:
    store.upsert_entity("Sodium-ion battery", {"cost": "low"}, crew="a", run_id="1")
    store.upsert_entity("sodium-ion battery", {"density": "lower"}, crew="b", run_id="2")
    [entity] = store.items("entities")
    assert entity.payload["attributes"] == {"cost": "low", "density": "lower"}
    assert entity.payload["run_id"] == "2"  # the run that last changed it


def test_episodes_are_recalled_for_similar_objectives(store: MemoryStore) -> None:
    store.add_episode(
        Episode(
            run_id="r1",
            crew="research",
            engine="crewai",
            objective="Research sodium-ion batteries",
            steps=["research", "write"],
            outcome="A report on sodium-ion cells",
            success=True,
        )
    )
    store.add_episode(
        Episode(
            run_id="r2",
            crew="cook",
            engine="crewai",
            objective="Bake bread",
            steps=["knead"],
            outcome="Bread",
            success=True,
        )
    )
    best = store.search("sodium-ion storage for a utility", scopes=("episodes",), k=1)[0]
    assert best.payload["run_id"] == "r1" and best.payload["success"] is True


def test_replaying_a_task_never_duplicates(store: MemoryStore) -> None:
    for _ in range(3):
        store.add_short_term("draft one", crew="a", run_id="r1", task="t1")
        store.add_episode(
            Episode(
                run_id="r1",
                crew="a",
                engine="crewai",
                objective="o",
                steps=[],
                outcome="x",
                success=True,
            )
        )
    assert store.stats()["short_term"] == 1 and store.stats()["episodes"] == 1
    assert store.get(point_id("short_term", "r1:t1")) is not None


def test_filters_forget_and_reset(store: MemoryStore) -> None:
    store.add_fact("Fact from crew a", crew="a", run_id="1")
    store.add_fact("Completely different note from crew b", crew="b", run_id="2")
    assert [i.payload["crew"] for i in store.search("fact", scopes=("facts",), crew="b")] == ["b"]
    assert store.forget_where("facts", crew="a") == 1
    assert [i.payload["crew"] for i in store.items("facts")] == ["b"]
    with pytest.raises(ConfigError, match="needs --crew or --run"):
        store.forget_where("facts")
    assert store.reset("facts") == 1 and store.stats()["facts"] == 0


def test_short_term_notes_expire(store: MemoryStore) -> None:
    store.add_short_term("old note", crew="a", run_id="r", task="t")
    assert store.expire(now=1e12) == 1 and store.stats()["short_term"] == 0


def test_a_long_lived_store_drops_expired_notes_as_it_adds_new_ones() -> None:
    store = MemoryStore.open(WordLlamaEmbedder())
    store.short_term_s = 1.0  # notes kept a second
    store.add_short_term("old note", crew="a", run_id="r1", task="t")
    store.expire_every_s = 0.0  # a worker an hour later
    time.sleep(1.1)
    store.add_short_term("new note", crew="a", run_id="r2", task="t")
    assert [i.text for i in store.items("short_term")] == ["new note"]


def test_secrets_are_redacted_before_storage(store: MemoryStore) -> None:
    fid = store.add_fact("the key is sk-abcdefghijklmnopqrstuvwx1234", crew="a", run_id="1")
    item = store.get(fid)
    assert item is not None and "sk-abc" not in item.text and "[REDACTED]" in item.text


class OtherEmbedder(WordLlamaEmbedder):
    name = "wordllama/l2_supercat-128"
    dim = 128


def test_a_different_embedder_is_explained_not_mixed(tmp_path: Path) -> None:
    path = tmp_path / "q1"
    with MemoryStore.open(WordLlamaEmbedder(), path=path) as first:
        first.add_fact("x", crew="a", run_id="1")
    with pytest.raises(ConfigError, match="written with wordllama/l2_supercat-256") as info:
        MemoryStore.open(OtherEmbedder(), path=path)
    assert "memory reset --all" in (info.value.hint or "")


def test_second_process_gets_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "q2"
    MemoryStore.open(WordLlamaEmbedder(), path=path).add_fact("x", crew="a", run_id="1")
    code = (
        "from pathlib import Path; from crewyard.memory.store import MemoryStore;"
        "from crewyard.memory.embedders import WordLlamaEmbedder; from crewyard.errors import "
        "ConfigError\ntry:\n"
        f"    MemoryStore.open(WordLlamaEmbedder(), path=Path({str(path)!r}), wait_s=0)\n"
        "except ConfigError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "in use by another crewyard process" in out and "QDRANT_URL" in out


def test_unreachable_server_names_the_url() -> None:
    with pytest.raises(ConfigError, match=r"Qdrant server at http://127.0.0.1:9 is not reachable"):
        MemoryStore.open(WordLlamaEmbedder(), url="http://127.0.0.1:9")


def test_damaged_store_is_explained_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "q3"
    path.mkdir()
    (path / "meta.json").write_text("{ not json")
    with pytest.raises(ConfigError, match="cannot be opened") as info:
        MemoryStore.open(WordLlamaEmbedder(), path=path)
    assert str(path) in info.value.message and "move" in (info.value.hint or "")


def test_unreachable_qdrant_url_stops_the_run_before_it_starts(
    settings: Any,
    two_step_crew: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from crewyard.cli import main
    from crewyard.runs.store import RunStore

    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:9")
    cli_uses(settings, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=x"]) == 2
    assert "Qdrant server at http://127.0.0.1:9 is not reachable" in capsys.readouterr().err
    assert RunStore(settings.runs_db).recent() == []


def test_empty_texts_are_skipped_and_no_nan_vector_is_ever_stored(store: MemoryStore) -> None:
    """WordLlama embeds "" as NaN, which made Qdrant refuse the whole memory update of a run."""
    from crewyard.crews.spec import CrewSpec
    from crewyard.recall import remember
    from crewyard.runs.result import TaskOutput

    assert store.add_short_term("", crew="c", run_id="r1", task="t") == ""
    assert store.add_fact("   ", crew="c", run_id="r1") == ""
    spec = CrewSpec.model_validate(
        {
            "name": "c",
            "process": "sequential",
            "inputs": {},
            "models": {},
            "agents": {"a": {"role": "r", "goal": "g", "backstory": "b"}},
            "tasks": {"t": {"description": "d", "expected_output": "e"}},
            "directory": ".",
        }
    )
    outputs = [TaskOutput("empty", "a", ""), TaskOutput("t", "a", "- a fact about tides, kept")]
    counts = remember(store, spec, {}, "r1", "crewai", outputs, True)
    assert store.stats()["facts"] == 1 and store.stats()["episodes"] == 1
    assert store.stats()["short_term"] == 1 and counts["episodes"] == 1
    assert store.search("") == []

    class HalfBroken(WordLlamaEmbedder):
        def embed(self, texts: list[str]) -> list[list[float]]:
            return [
                [float("nan")] * self.dim if "broken" in t else v
                for t, v in zip(texts, super().embed(texts), strict=True)
            ]

    odd = MemoryStore.open(HalfBroken())
    assert odd.add_fact("a broken vector", crew="c", run_id="r") == ""
    assert odd.add_fact("a sound vector", crew="c", run_id="r") != ""
    points, _ = odd.client.scroll("crewyard_facts", with_vectors=True)
    assert len(points) == 1 and all(x == x for x in points[0].vector)  # type: ignore[union-attr]


def test_a_memory_folder_that_is_a_file_is_explained(tmp_path: Path) -> None:
    (tmp_path / "qdrant").write_text("in the way")
    with pytest.raises(
        ConfigError, match=r"the memory store folder .*qdrant cannot be used: it is a file"
    ):
        MemoryStore.open(WordLlamaEmbedder(), path=tmp_path / "qdrant")


HOLD = """
import sys, time
from pathlib import Path
from crewyard.memory.embedders import WordLlamaEmbedder
from crewyard.memory.store import MemoryStore
store = MemoryStore.open(WordLlamaEmbedder(), path=Path(sys.argv[1]))
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
store.close()
print("released", flush=True)
time.sleep(30)
"""


@pytest.mark.parametrize(("hold_s", "wait_s", "opens"), [(2.0, 60.0, True), (60.0, 0.5, False)])
def test_a_second_process_waits_a_bounded_time_for_the_embedded_store(
    tmp_path: Path, hold_s: float, wait_s: float, opens: bool
) -> None:
    path = tmp_path / "qdrant"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(hold_s)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        if opens:  # the holder lets go while we wait (and lives on)
            with MemoryStore.open(WordLlamaEmbedder(), path=path, wait_s=wait_s) as store:
                assert store.stats()["facts"] == 0
        else:
            with pytest.raises(ConfigError, match=r"in use by another crewyard process \(waited"):
                MemoryStore.open(WordLlamaEmbedder(), path=path, wait_s=wait_s)
    finally:
        holder.kill()
        holder.wait()
