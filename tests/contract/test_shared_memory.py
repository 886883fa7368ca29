"""Memory shared across engines and runs: a CrewAI run stores, an AutoGen run recalls."""

from __future__ import annotations

import json
from typing import Any

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS

FACT = "Sodium-ion cells avoid lithium and cobalt entirely"


def test_crewai_run_stores_and_autogen_run_recalls(settings: Settings, make_crew: Any) -> None:
    make_crew("research", crew={"inputs": TOPIC_INPUT}, agents=TWO_AGENTS, tasks=TWO_TASKS)
    make_crew(
        "debate",
        crew={"process": "debate", "inputs": {"question": {}}, "engine_options": {"rounds": 1}},
        agents={
            n: {"role": n.title(), "goal": "g", "backstory": "b"}
            for n in ("proposer", "critic", "judge")
        },
        tasks={"decide": {"description": "Debate: {question}", "expected_output": "Verdict"}},
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script(
        "main",
        [
            f"Final Answer: - {FACT}\n- Sodium is abundant in sea water everywhere",
            "# Sodium-ion report\nShort.",
            "I propose yes.",
            "I doubt it.",
            "Verdict: yes.",
        ],
    )
    dispatcher = Dispatcher(settings, gateway=gateway)

    first = dispatcher.run(
        load_crew("research", settings.crews_dir), {"topic": "sodium-ion batteries"}
    )
    stats = dispatcher.memory.stats()
    assert stats["facts"] == 2 and stats["episodes"] == 1 and stats["entities"] == 1
    second = dispatcher.run(
        load_crew("debate", settings.crews_dir),
        {"question": "Should a utility buy sodium-ion storage?"},
    )

    debate_prompts = [json.dumps(c) for c in script.calls[2:]]
    assert all(FACT in p for p in debate_prompts)  # every AutoGen agent was told
    assert "an earlier research run (succeeded)" in debate_prompts[0]
    events = dict(RunStore(settings.runs_db).events(second.run_id))
    assert FACT in events["memory_recalled"]["text"]
    assert events["memory_stored"]["episodes"] == 1
    assert first.engine == "crewai" and second.engine == "autogen"


def test_autogen_memory_protocol_adds_what_matches_the_latest_message(
    settings: Settings, make_crew: Any
) -> None:
    make_crew(
        "debate",
        crew={
            "process": "debate",
            "engine_options": {"rounds": 1, "debaters": ["pro"]},
            "memory": {"recall": 0},
        },  # no recall up front: only the protocol can tell them
        agents={n: {"role": n.title(), "goal": "g", "backstory": "b"} for n in ("pro", "judge")},
        tasks={
            "d": {
                "description": "Are sodium-ion cells free of lithium?",
                "expected_output": "Verdict",
            }
        },
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", ["They are.", "Verdict: yes."])
    dispatcher = Dispatcher(settings, gateway=gateway)
    dispatcher.memory.add_fact(FACT, crew="research", run_id="earlier")
    dispatcher.memory.add_fact("Bread needs flour, water and yeast", crew="cook", run_id="e2")

    dispatcher.run(load_crew("debate", settings.crews_dir), {})

    first = script.calls[0]
    injected = [
        m["content"]
        for m in first
        if m["role"] == "system" and m["content"].startswith("Relevant memory:")
    ]
    assert injected and FACT in injected[0]
    assert "Bread" not in json.dumps(first)
    assert dispatcher.memory.stats()["facts"] == 2  # the protocol never wrote back
