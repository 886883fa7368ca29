"""The embedded model on CrewAI's tool protocol: each agent step is decoded under the JSON
step schema (tools/react.py), so every step is a tool call or the final answer; none is
lost to CrewAI's parser."""

from __future__ import annotations

from typing import Any

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import write_yaml


def test_every_embedded_model_step_parses(settings: Settings, make_crew: Any) -> None:
    models = {
        "aliases": {"standard": {"model": "local/smollm2", "temperature": 0, "max_tokens": 80}},
        "local": {"n_ctx": 2048, "seed": 0},
    }
    write_yaml(settings.models_file, models)
    make_crew(
        "sums",
        agents={
            "a": {
                "role": "Calculator",
                "goal": "Compute sums with the calculator tool",
                "backstory": "You always use the calculator tool.",
                "tools": ["calculator"],
                "max_iter": 3,
            }
        },
        tasks={"t": {"description": "What is 17 * 23?", "expected_output": "A number"}},
        crew={"memory": {"enabled": False}},
    )
    result = Dispatcher(settings).run(load_crew("sums", settings.crews_dir))

    events = RunStore(settings.runs_db).events(result.run_id)
    model_calls = [d for kind, d in events if kind == "model_call"]
    tool_calls = [d for kind, d in events if kind == "tool_call"]
    assert result.status == "done"
    assert all(c["tool"] == "calculator" for c in tool_calls)
    # each step was a tool call or the final answer: no step was spent on a format error
    assert len(model_calls) == len(tool_calls) + 1
    assert result.output.strip() and "final_answer" not in result.output  # the JSON step read
