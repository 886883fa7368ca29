"""Hierarchical crews on the real CrewAI engine: a manager that loops is stopped with an event,
and a named manager agent manages."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS
from tests.unit.test_delegation import delegate


def test_hierarchical_manager_loop_is_stopped_with_an_event(
    settings: Settings, make_crew: Any
) -> None:
    make_crew(
        "managed",
        crew={
            "process": "hierarchical",
            "inputs": TOPIC_INPUT,
            "models": {"manager": "smart"},
            "engine_options": {"max_repeats": 2},
        },
        agents=TWO_AGENTS,
        tasks={"research": {k: v for k, v in TWO_TASKS["research"].items() if k != "agent"}},
    )
    settings.models_file.write_text(
        json.dumps(
            {
                "aliases": {
                    "standard": {"model": "scripted/worker"},
                    "smart": {"model": "scripted/manager"},
                }
            }
        )
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    loop = delegate("Researcher", "Find facts about tides")
    manager = gateway.register_script("manager", [loop, loop])
    worker = gateway.register_script("worker", ["Final Answer: tides are tidal"])
    dispatcher = Dispatcher(settings, gateway=gateway)

    with pytest.raises(RunFailed, match="stopped as a loop") as info:
        dispatcher.run(load_crew("managed", settings.crews_dir), {"topic": "tides"})

    assert manager.unused == 0 and worker.unused == 0  # no call after the loop was seen
    assert "Find facts about tides" in json.dumps(worker.calls[0])  # delegation reached it
    events = RunStore(settings.runs_db).events(info.value.result.run_id)
    kinds = [k for k, _ in events]
    assert kinds.count("delegation") == 1 and "delegation_stopped" in kinds
    assert dict(events)["delegation"]["coworker"] == "researcher"


def test_named_manager_agent(settings: Settings, make_crew: Any) -> None:
    agents = {
        **TWO_AGENTS,
        "boss": {
            "role": "Boss",
            "goal": "Run the team",
            "backstory": "b",
            "allow_delegation": True,
            "llm": "smart",
        },
    }
    make_crew(
        "bossed",
        crew={
            "process": "auto",
            "inputs": TOPIC_INPUT,
            "engine_options": {"manager_agent": "boss"},
        },
        agents=agents,
        tasks={"research": TWO_TASKS["research"]},
    )
    spec = load_crew("bossed", settings.crews_dir)
    assert spec.process == "hierarchical" and "may delegate" in spec.process_reason
    settings.models_file.write_text(
        json.dumps(
            {
                "aliases": {
                    "standard": {"model": "scripted/worker"},
                    "smart": {"model": "scripted/boss"},
                }
            }
        )
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    boss = gateway.register_script("boss", ["Final Answer: boss decided"])
    result = Dispatcher(settings, gateway=gateway).run(spec, {"topic": "tides"})
    assert result.output == "boss decided" and boss.unused == 0
