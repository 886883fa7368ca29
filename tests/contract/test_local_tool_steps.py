"""The embedded model on CrewAI's tool protocol: each agent step is decoded under the JSON
step schema (tools/react.py), so every step is a tool call or the final answer; none is
lost to CrewAI's parser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from crewyard.tools import react
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
    # each step the agent wrote is a tool call or the final answer: none was spent on a format
    # error (a call repeated word for word is CrewAI's to refuse, so calls are not counted)
    assert result.cassette is not None
    entries = [json.loads(line) for line in Path(result.cassette).read_text().splitlines()]
    steps = [e["reply"]["text"] for e in entries if e["kind"] == "call" and e["agent"] == "a"]
    assert steps and len(steps) <= len(model_calls)
    for text in steps:
        step = react.load_step(text)
        assert isinstance(step, dict), text
        assert step.get("action") == "calculator" or react.FINAL in step, text
    assert result.output.strip() and "final_answer" not in result.output  # the JSON step read
