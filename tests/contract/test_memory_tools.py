"""memory_search / memory_save as tools: CrewAI through its text protocol (any model), AutoGen
through native tool calls (models that have them), both against tests/fakellm."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.fakellm import FakeLLM, Reply

FACT = "Sodium-ion cells avoid lithium and cobalt entirely"


def models(settings: Settings, fake: FakeLLM, model: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KEY", "tool-key-0000")
    settings.models_file.write_text(
        json.dumps(
            {
                "aliases": {
                    "standard": {
                        "model": model,
                        "api_base": fake.url,
                        "api_key_env": "FAKE_KEY",
                        "num_retries": 0,
                    }
                }
            }
        )
    )


def test_crewai_agent_saves_then_searches_memory(
    settings: Settings, make_crew: Any, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(
        "notes",
        agents={"a": {"role": "Archivist", "goal": "g", "backstory": "b", "max_iter": 4}},
        tasks={"t": {"description": "Note what matters", "expected_output": "x"}},
        crew={"memory": {"recall": 0}},
    )
    save = json.dumps({"fact": FACT})
    fakellm.add(
        f"Thought: keep it\nAction: memory_save\nAction Input: {save}",
        'Thought: check\nAction: memory_search\nAction Input: {"query": "sodium-ion"}',
        "Thought: done\nFinal Answer: noted",
    )
    models(settings, fakellm, "openai/fake-model", monkeypatch)
    dispatcher = Dispatcher(settings)

    result = dispatcher.run(load_crew("notes", settings.crews_dir), {})

    assert result.output == "noted"
    assert "memory_search" in fakellm.prompts()[0] and "memory_save" in fakellm.prompts()[0]
    assert FACT in fakellm.prompts()[2]  # the search's observation came back to the agent
    assert [i.text for i in dispatcher.memory.items("facts")] == [FACT]
    tools = [
        d["tool"] for k, d in RunStore(settings.runs_db).events(result.run_id) if k == "tool_call"
    ]
    assert tools == ["memory_save", "memory_search"]


def test_autogen_agent_calls_memory_search_natively(
    settings: Settings, make_crew: Any, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(
        "debate",
        crew={
            "process": "debate",
            "engine_options": {"rounds": 1, "debaters": ["pro"]},
            "memory": {"recall": 0},
        },
        agents={n: {"role": n.title(), "goal": "g", "backstory": "b"} for n in ("pro", "judge")},
        tasks={"d": {"description": "Is sodium-ion good?", "expected_output": "Verdict"}},
    )
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "memory_search", "arguments": '{"query": "sodium-ion"}'},
    }
    fakellm.add(Reply(tool_calls=[call]), "Yes, sodium-ion is good.", "Verdict: yes.")
    models(settings, fakellm, "openai/gpt-4o-mini", monkeypatch)
    dispatcher = Dispatcher(settings)
    dispatcher.memory.add_fact(FACT, crew="research", run_id="earlier")

    result = dispatcher.run(load_crew("debate", settings.crews_dir), {})

    first = fakellm.requests[0]
    assert {t["function"]["name"] for t in first["tools"]} == {"memory_search", "memory_save"}
    tool_reply = fakellm.requests[1]["messages"][-1]
    assert tool_reply["role"] == "tool" and FACT in tool_reply["content"]
    assert result.output == "Verdict: yes."
