"""Response cache (a second identical temperature-0 run makes no model call) and the cost
report by crew, model, agent and day, with cache savings."""

from __future__ import annotations

import json
from typing import Any

import pytest

import crewyard
from crewyard.cli import main
from crewyard.settings import Settings
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS, cli_uses

REPLIES = ["Final Answer: the facts", "# Report"]


@pytest.fixture
def env(settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch) -> Settings:
    # memory off: recalled memory would (rightly) make the second run's prompts differ
    make_crew(
        "demo",
        crew={"inputs": TOPIC_INPUT, "memory": {"enabled": False}},
        agents=TWO_AGENTS,
        tasks=TWO_TASKS,
    )
    # temperature 0: deterministic, so cacheable; the script has replies for ONE run only
    settings.models_file.write_text(
        json.dumps(
            {
                "aliases": {
                    "standard": {
                        "model": "scripted/main",
                        "temperature": 0,
                        "script": REPLIES,
                        "input_cost_per_token": 0.000001,
                        "output_cost_per_token": 0.000002,
                    }
                }
            }
        )
    )
    cli_uses(settings, monkeypatch)
    return settings


def test_second_identical_run_is_answered_from_the_cache(env: Settings) -> None:
    from crewyard.crews.loader import load_crew
    from crewyard.dispatcher import Dispatcher

    dispatcher = Dispatcher(env)  # one gateway: its script holds replies for one run only
    spec = load_crew("demo", env.crews_dir)
    first = dispatcher.run(spec, {"topic": "tides"})
    second = dispatcher.run(spec, {"topic": "tides"})  # would fail if it called the model

    assert second.output == first.output == "# Report"
    assert (first.usage["calls"], first.usage["cache_hits"]) == (2, 0)
    assert (second.usage["calls"], second.usage["cache_hits"]) == (0, 2)
    assert second.usage["tokens_saved"] == first.usage["total_tokens"] and second.cost == 0
    assert first.cost > 0 and second.usage["cost_saved_usd"] == pytest.approx(first.cost)
    by_crew = crewyard.costs("crew", settings=env)[0]
    assert by_crew["cache_hits"] == 2 and by_crew["calls"] == 2  # cache hits are not calls
    assert by_crew["cost_saved"] == pytest.approx(first.cost)
    assert by_crew["prompt_tokens"] == first.usage["prompt_tokens"]  # hits spent nothing


def test_no_cache_calls_the_model_again(env: Settings) -> None:
    from crewyard.crews.loader import load_crew
    from crewyard.dispatcher import Dispatcher, RunFailed

    dispatcher = Dispatcher(env.model_copy(update={"cache": False}))
    spec = load_crew("demo", env.crews_dir)
    dispatcher.run(spec, {"topic": "tides"})
    with pytest.raises(RunFailed, match="no reply left"):
        dispatcher.run(spec, {"topic": "tides"})


def test_cost_report_groups_and_prices(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--crew", "demo", "--input", "topic=tides", "-q"]) == 0
    capsys.readouterr()
    by_agent = {r["agent"]: r for r in crewyard.costs("agent", settings=env)}
    assert set(by_agent) == {"researcher", "writer"}
    row = by_agent["writer"]
    expected = row["prompt_tokens"] * 0.000001 + row["completion_tokens"] * 0.000002
    assert row["cost_usd"] == pytest.approx(expected) and row["calls"] == 1
    assert main(["runs", "cost", "--by", "model"]) == 0
    shown = capsys.readouterr().out
    assert "by model:" in shown and "scripted/main" in shown and "2 calls" in shown
    assert main(["runs", "cost", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"crew", "model", "agent", "day"}
