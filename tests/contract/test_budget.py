"""Budgets: a run stops cleanly before the call that would pass its token budget, keeping
every finished task output and saying how much was spent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import cli_uses


def test_token_budget_stops_before_the_next_call(
    settings: Settings, make_crew: object, two_step_crew: Path
) -> None:
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", ["Final Answer: facts " * 40, "# never written"])
    spec = load_crew("demo", settings.crews_dir)
    spec = spec.model_copy(update={"budget": spec.budget.model_copy(update={"max_tokens": 1000})})

    with pytest.raises(RunFailed, match="stopped: token budget reached") as info:
        Dispatcher(settings, gateway=gateway).run(spec, {"topic": "tides"})

    result = info.value.result
    assert result.status == "budget_exceeded"
    assert len(script.calls) == 1 and script.unused == 1  # the second call was never made
    assert [t.task for t in result.task_outputs] == ["research"]
    assert "of 1000 tokens spent" in (result.error or "")
    assert RunStore(settings.runs_db).get(result.run_id).status == "budget_exceeded"


def test_cli_budget_flag(
    settings: Settings,
    two_step_crew: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings.models_file.write_text(
        json.dumps(
            {
                "aliases": {
                    "standard": {
                        "model": "scripted/main",
                        "script": ["Final Answer: " + "word " * 200, "# x"],
                    }
                }
            }
        )
    )
    cli_uses(settings, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=x", "--budget-tokens", "1000", "-q"]) == 1
    err = capsys.readouterr().err
    assert "token budget reached" in err and "kept 1 finished task output(s): research" in err


def test_budget_in_crew_yaml_is_validated(make_crew: object, crews_dir: Path) -> None:
    from crewyard.errors import ConfigError
    from tests.conftest import TWO_AGENTS, TWO_TASKS

    make_crew(crew={"budget": {"max_token": 5}}, agents=TWO_AGENTS, tasks=TWO_TASKS)  # type: ignore[operator]
    with pytest.raises(ConfigError, match="unknown key 'max_token'") as info:
        load_crew("demo", crews_dir)
    assert info.value.hint == "did you mean 'max_tokens'?"
