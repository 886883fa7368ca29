"""The notebook API and the per-run JSON log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import crewyard
from crewyard.dispatcher import RunFailed
from crewyard.settings import Settings


@pytest.fixture
def scripted(settings: Settings) -> Settings:
    models = {
        "aliases": {
            "standard": {
                "model": "scripted/main",
                "script": ["Final Answer: notes", "# Tides report"],
            }
        }
    }
    settings.models_file.write_text(json.dumps(models))
    return settings


def test_run_returns_a_result_that_renders_as_markdown(
    scripted: Settings, two_step_crew: Path
) -> None:
    from crewyard.crews.loader import load_crew

    result = crewyard.run(load_crew("demo", scripted.crews_dir), settings=scripted, topic="tides")
    assert (result.output, result.engine, result.status) == ("# Tides report", "crewai", "done")
    assert result.run_id and result.usage["calls"] == 2 and result.cost == 0.0
    markdown = result._repr_markdown_()
    assert markdown.startswith("**demo** · run `" + result.run_id)
    assert "# Tides report" in markdown and "#### research (researcher)" in markdown


def test_arun_and_list_crews(
    scripted: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CREWYARD_CREWS_DIR", str(scripted.crews_dir))
    assert crewyard.list_crews() == ["demo"]
    assert crewyard.load_crew("demo").name == "demo"
    result = asyncio.run(crewyard.arun("demo", settings=scripted, topic="tides"))
    assert result.output == "# Tides report"


def test_failed_run_raises_with_the_partial_result(settings: Settings, two_step_crew: Path) -> None:
    from crewyard.crews.loader import load_crew

    settings.models_file.write_text(
        json.dumps(
            {"aliases": {"standard": {"model": "scripted/main", "script": ["Final Answer: a"]}}}
        )
    )
    with pytest.raises(RunFailed) as info:
        crewyard.run(load_crew("demo", settings.crews_dir), settings=settings, topic="x")
    assert [t.output for t in info.value.result.task_outputs] == ["a"]


def test_run_log_is_json_lines_bound_to_the_run_without_secrets(
    scripted: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crewyard.crews.loader import load_crew

    canary = "sk-canaryLOG1234567890abcdef"
    monkeypatch.setenv("ANTHROPIC_API_KEY", canary)
    result = crewyard.run(
        load_crew("demo", scripted.crews_dir), settings=scripted, topic=f"tides {canary}"
    )
    text = Path(result.log_file or "").read_text()
    records = [json.loads(line) for line in text.splitlines()]
    assert records and all(r["record"]["extra"]["run_id"] == result.run_id for r in records)
    assert all(r["record"]["extra"]["crew"] == "demo" for r in records)
    events = [r["record"]["extra"].get("event") for r in records]
    assert "task_started" in events and "model_call" in events
    assert {r["record"]["extra"].get("task") for r in records} >= {"research", "write"}
    assert canary not in text
