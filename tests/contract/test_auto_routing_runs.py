"""model: auto on a task, through a real CrewAI run."""

from __future__ import annotations

import json
from typing import Any

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.plan import plan
from crewyard.runs.store import RunStore
from crewyard.settings import Settings


def test_a_task_can_ask_for_auto(settings: Settings, make_crew: Any) -> None:
    make_crew(
        "mixed",
        crew={"memory": {"enabled": False}},
        agents={"a": {"role": "Analyst", "goal": "g", "backstory": "b", "llm": "standard"}},
        tasks={
            "lookup": {"description": "What is the capital of Peru?", "expected_output": "x"},
            "build": {
                "description": "Implement a Python function to parse dates, with unit tests.",
                "expected_output": "code",
                "model": "auto",
            },
        },
    )
    settings.models_file.write_text(
        json.dumps(
            {"aliases": {n: {"model": f"scripted/{n}"} for n in ("fast", "standard", "smart")}}
        )
    )
    dispatcher = Dispatcher(settings)
    for name in ("fast", "standard", "smart"):
        dispatcher.gateway.register_script(name, lambda m, name=name: f"Final Answer: {name}")
    spec = load_crew("mixed", settings.crews_dir)
    assert "auto" in plan(spec, dispatcher.table).models

    result = dispatcher.run(spec, {})

    assert [t.output for t in result.task_outputs] == ["standard", "smart"]
    calls = RunStore(settings.runs_db).model_calls(result.run_id)
    assert [(c["task"], c["alias"]) for c in calls] == [("lookup", "standard"), ("build", "smart")]
    assert calls[1]["note"].startswith("auto → smart (complex")
    events = [d for k, d in RunStore(settings.runs_db).events(result.run_id) if k == "model_call"]
    assert events[1]["note"] == calls[1]["note"]  # the choice is on the model-call event too
