"""Memory learns only what it should: a finished run's bullet points become facts with their
run and task, but not a refusal, a copy of the task, a placeholder or a scrap; a failed run
teaches no fact (what its agents saved goes too); `memory forget --run` takes back what one
run taught; recall says where each fact came from."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS, cli_uses

GOOD = "Tidal range peaks at spring tides, twice a month"
NOTES = "\n".join(
    [
        f"- {GOOD}",
        "- I'm sorry, but I cannot provide information about tides",
        "- List facts about tides.",  # the task's own description
        "- Lorem ipsum dolor sit amet, consectetur",  # a placeholder
        "- 12.5 / 40.1 / 77.0 / 93.2 / 18.7",  # a scrap: no words
    ]
)


def crew(make_crew: Any, **crew_file: Any) -> None:
    make_crew(
        "research",
        crew={"inputs": TOPIC_INPUT, **crew_file},
        agents=TWO_AGENTS,
        tasks=TWO_TASKS,
    )


def facts(dispatcher: Dispatcher) -> list[Any]:
    return list(dispatcher.memory.items("facts"))


def test_only_statements_worth_keeping_are_learnt_with_their_source(
    settings: Settings, make_crew: Any
) -> None:
    crew(make_crew)
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script(
        "main", [f"Final Answer: {NOTES}", "# Report", "Final Answer: noted", "# Again"]
    )
    dispatcher = Dispatcher(settings, gateway=gateway)
    spec = load_crew("research", settings.crews_dir)
    first = dispatcher.run(spec, {"topic": "tides"})

    (fact,) = facts(dispatcher)
    assert fact.text == GOOD
    assert (fact.payload["kind"], fact.payload["subject"]) == ("claim", "")
    assert (fact.payload["run_id"], fact.payload["task"]) == (first.run_id, "research")
    stored = dict(RunStore(settings.runs_db).events(first.run_id))["memory_stored"]
    assert stored["facts"] == 1 and stored["rejected"] == 4

    dispatcher.run(spec, {"topic": "tides"})
    told = str(script.calls[2])
    assert f"{GOOD} (from crew research, run {first.run_id}, task research)" in told


def test_a_failed_run_teaches_no_fact_and_forget_run_takes_back_what_one_taught(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    crew(make_crew)
    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", [f"Final Answer: {NOTES}"])  # the writer gets no reply
    dispatcher = Dispatcher(settings, gateway=gateway)
    spec = load_crew("research", settings.crews_dir)
    with pytest.raises(RunFailed) as failed:
        dispatcher.run(spec, {"topic": "tides"})
    assert facts(dispatcher) == []
    assert dispatcher.memory.stats()["episodes"] == 1  # the failure itself is remembered
    run_id = failed.value.result.run_id

    dispatcher.close()
    cli_uses(settings, monkeypatch)
    assert main(["memory", "forget", "--run", run_id, "--yes"]) == 0
    again = Dispatcher(settings, gateway=gateway)
    assert again.memory.stats() == {s: 0 for s in again.memory.stats()}
    again.close()


def test_learn_model_asks_for_typed_statements_and_keeps_only_good_ones(
    settings: Settings, make_crew: Any
) -> None:
    crew(make_crew, memory={"learn": "model"})
    gateway = Gateway(ModelTable.load(settings.models_file))
    research = {
        "facts": [
            {
                "statement": "Spring tides come about 2 times a month",
                "kind": "number",
                "subject": "spring tides",
            },
            {
                "statement": "I'm sorry, but I cannot provide information",
                "kind": "claim",
                "subject": "",
            },
            {"statement": "List facts about tides.", "kind": "claim", "subject": "tides"},
        ]
    }
    report = {
        "facts": [
            {
                "statement": "Tidal power is a predictable source of energy",
                "kind": "definition",
                "subject": "Tidal power",
            }
        ]
    }
    script = gateway.register_script(
        "main",
        [
            f"Final Answer: {NOTES}",
            "# Report",
            json.dumps(research),
            "these are the facts",  # not JSON: sent back with the reason, then answered
            json.dumps(report),
        ],
    )
    dispatcher = Dispatcher(settings, gateway=gateway)
    run = dispatcher.run(load_crew("research", settings.crews_dir), {"topic": "tides"})

    learnt = {f.text: f.payload for f in facts(dispatcher)}
    assert set(learnt) == {
        "Spring tides come about 2 times a month",
        "Tidal power is a predictable source of energy",
    }
    spring = learnt["Spring tides come about 2 times a month"]
    power = learnt["Tidal power is a predictable source of energy"]
    assert (spring["kind"], spring["subject"]) == ("number", "spring tides")
    assert spring["task"] == "research"
    assert (power["kind"], power["task"], power["run_id"]) == ("definition", "write", run.run_id)
    asked = str(script.calls[2])
    assert "JSON schema" in asked and GOOD in asked  # the task output, with the schema in words
    assert "That does not fit: not JSON" in str(script.calls[4])
    stored = dict(RunStore(settings.runs_db).events(run.run_id))["memory_stored"]
    assert stored["facts"] == 2 and stored["rejected"] == 2
    calls = RunStore(settings.runs_db).model_calls(run.run_id)
    assert [c["task"] for c in calls][2:] == ["research", "write", "write"]  # recorded


def test_learn_model_that_never_fits_falls_back_to_the_bullet_points(
    settings: Settings, make_crew: Any
) -> None:
    crew(make_crew, memory={"learn": "model"})
    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", [f"Final Answer: {NOTES}", "# Report"] + ["no facts here"] * 6)
    dispatcher = Dispatcher(settings, gateway=gateway)
    dispatcher.run(load_crew("research", settings.crews_dir), {"topic": "tides"})
    assert [f.text for f in facts(dispatcher)] == [GOOD]
