"""`python main.py memory …` in-process, on a store filled by the tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.memory import Episode, open_memory
from crewyard.settings import Settings


@pytest.fixture
def filled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CREWYARD_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    store = open_memory(settings)
    store.add_fact("Sodium-ion cells avoid lithium entirely", crew="research", run_id="r1")
    store.add_fact("Tidal power follows the moon", crew="other", run_id="r2")
    store.upsert_entity("sodium-ion", {"cost": "low"}, crew="research", run_id="r1")
    store.add_episode(
        Episode(
            run_id="r1",
            crew="research",
            engine="crewai",
            objective="sodium-ion",
            steps=["t"],
            outcome="report",
            success=True,
        )
    )
    return settings


def test_stats_search_list_show(filled: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["memory", "stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "short_term": 0,
        "facts": 2,
        "entities": 1,
        "episodes": 1,
    }
    assert main(["memory", "search", "sodium-ion", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert {f["scope"] for f in found} >= {"facts", "entities", "episodes"}
    assert main(["memory", "list", "--scope", "facts", "--crew", "other"]) == 0
    listed = capsys.readouterr().out
    assert "Tidal power" in listed and "Sodium" not in listed
    fact_id = next(f["id"] for f in found if f["scope"] == "facts")
    assert main(["memory", "show", fact_id]) == 0
    assert json.loads(capsys.readouterr().out)["payload"]["crew"] == "research"


def test_forget_and_reset_need_confirmation(
    filled: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["memory", "forget", "--scope", "facts", "--crew", "other"]) == 2
    assert "add --yes" in capsys.readouterr().err
    assert main(["memory", "forget", "--scope", "facts", "--crew", "other", "--yes"]) == 0
    assert "forgot 1 item(s)" in capsys.readouterr().out
    assert main(["memory", "reset", "--all"]) == 2
    assert main(["memory", "reset", "--all", "--yes"]) == 0
    assert "forgot 3 item(s)" in capsys.readouterr().out
    assert main(["memory", "forget", "no-such-id"]) == 2
    assert "no memory item" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["memory", "stats", "--json"],
        ["memory", "list", "--json"],
        ["memory", "list", "--scope", "entities", "--json"],
        ["memory", "search", "tides", "--json", "-k", "2"],
    ],
    ids=" ".join,
)
def test_every_memory_listing_prints_one_json_document(
    filled: Settings, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)


def test_forget_and_reset_say_how_many_in_json_too(
    filled: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["memory", "forget", "--scope", "facts", "--crew", "other", "--yes", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == {"forgot": 1}
    assert main(["memory", "reset", "facts", "--yes", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"forgot": 1, "scopes": ["facts"]}


def test_memory_list_fits_the_terminal_and_is_whole_when_piped(
    filled: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert main(["memory", "list"]) == 0
    assert "Sodium-ion cells avoid lithium entirely" in capsys.readouterr().out
    monkeypatch.setenv("COLUMNS", "50")
    assert main(["memory", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(len(line) <= 50 and line.endswith("…") for line in lines)
