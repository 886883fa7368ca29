"""Braces in what reaches a prompt — an input's value, recalled memory, an earlier task's
output — are data on both engines: never read as placeholders, never a KeyError."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.settings import Settings
from tests.unit.seam_plugins import ListMemory

TOPIC = "the {name} syntax"
REMEMBERED = "Note what the syntax is: templates use {name} and {topic} in braces"
EARLIER = "Notes: {topic} stays literal, so does {name} and {}"
AGENTS = {
    "proposer": {"role": "Proposer", "goal": "Argue about {topic}", "backstory": "Bold."},
    "critic": {"role": "Critic", "goal": "Doubt it", "backstory": "Careful."},
    "judge": {"role": "Judge", "goal": "Decide", "backstory": "Fair."},
}
TASKS = {
    "notes": {"description": "Note what {topic} is.", "expected_output": "x", "agent": "proposer"},
    "verdict": {"description": "Decide about {topic}.", "expected_output": "y", "agent": "judge"},
}
ENGINES: dict[str, tuple[dict[str, Any], list[str]]] = {
    "sequential": ({}, [f"Final Answer: {EARLIER}", "Final Answer: done"]),
    "debate": (
        {"engine_options": {"rounds": 1, "debaters": ["proposer", "critic"]}},
        [EARLIER, "no", "verdict 1", "pro", "con", "done"],
    ),
}


@pytest.mark.parametrize("process", list(ENGINES))
def test_braces_in_inputs_memory_and_outputs_are_data(
    process: str, settings: Settings, make_crew: Any
) -> None:
    extra, replies = ENGINES[process]
    make_crew("braces", crew={"process": process, **extra}, agents=AGENTS, tasks=TASKS)
    memory = ListMemory()
    memory.add_fact(REMEMBERED, crew="other", run_id="r0")
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", replies)

    result = Dispatcher(settings, gateway=gateway, memory=memory).run(
        load_crew("braces", settings.crews_dir), {"topic": TOPIC}
    )

    assert result.status == "done" and result.output.endswith("done")
    prompts = [json.dumps(call, ensure_ascii=False) for call in script.calls]
    assert any(f"Note what {TOPIC} is." in p for p in prompts)  # the input, braces and all
    assert any(REMEMBERED in p for p in prompts)  # recalled memory, untouched
    assert any(EARLIER in p for p in prompts[1:])  # the earlier output, as it was said
