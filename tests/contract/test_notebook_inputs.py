"""crewyard.run(crew, inputs={…}): inputs that share a name with run()'s own keywords
(models, record, stream, …) go in a mapping; keywords stay a shortcut; a keyword that could be
either is refused with the way out — on the scripted model, through CrewAI."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import crewyard
from crewyard.errors import ConfigError
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import MakeCrew


@pytest.fixture
def scripted(settings: Settings) -> Settings:
    """standard answers from script `main`, smart from script `other`."""
    models = {
        "aliases": {
            "standard": {"model": "scripted/main", "script": ["Final Answer: from main"]},
            "smart": {"model": "scripted/other", "script": ["Final Answer: from other"]},
        }
    }
    settings.models_file.write_text(json.dumps(models))
    return settings


def comparing(make_crew: MakeCrew, inputs: dict[str, object]) -> Path:
    return make_crew(
        "compare",
        crew={"name": "compare", "inputs": inputs},
        agents={"analyst": {"role": "Analyst", "goal": "Compare", "backstory": "Careful."}},
        tasks={
            "compare": {
                "description": "Compare the models {models} on {topic}.",
                "expected_output": "A comparison.",
                "agent": "analyst",
            }
        },
    )


BOTH = {
    "models": {"type": "str", "description": "Model names to compare"},
    "topic": {"type": "str", "default": "speed"},
}


def inputs_of(settings: Settings, run_id: str) -> dict[str, object]:
    return RunStore(settings.run_store).get(run_id).inputs


def test_an_input_named_models_goes_in_inputs(scripted: Settings, make_crew: MakeCrew) -> None:
    comparing(make_crew, BOTH)
    result = crewyard.run("compare", settings=scripted, inputs={"models": "gpt-4o, llama"})
    assert (result.status, result.output) == ("done", "from main")
    assert inputs_of(scripted, result.run_id) == {"models": "gpt-4o, llama", "topic": "speed"}
    # keywords and the mapping together are merged
    both = crewyard.run("compare", settings=scripted, inputs={"models": "a, b"}, topic="cost")
    assert inputs_of(scripted, both.run_id) == {"models": "a, b", "topic": "cost"}
    later = asyncio.run(crewyard.arun("compare", settings=scripted, inputs={"models": "c"}))
    assert inputs_of(scripted, later.run_id)["models"] == "c"


def test_models_keyword_for_a_crew_with_a_models_input_is_ambiguous(
    scripted: Settings, make_crew: MakeCrew
) -> None:
    comparing(make_crew, BOTH)
    for call in (
        lambda: crewyard.run("compare", settings=scripted, models={"standard": "scripted/other"}),
        lambda: asyncio.run(
            crewyard.arun("compare", settings=scripted, models={"standard": "x"}, inputs={})
        ),
    ):
        with pytest.raises(ConfigError) as info:
            call()
        text = str(info.value)
        assert "crew 'compare' has an input named 'models'" in text and "ambiguous" in text
        assert """inputs={'models': …}""" in (info.value.hint or "")
    assert RunStore(scripted.run_store).recent() == []  # refused before any run started


def test_without_such_an_input_models_keeps_its_meaning(
    scripted: Settings, make_crew: MakeCrew
) -> None:
    make_crew(
        "plain",
        crew={"name": "plain"},
        agents={"analyst": {"role": "Analyst", "goal": "Look", "backstory": "Careful."}},
        tasks={"look": {"description": "Look at {topic}.", "expected_output": "Notes."}},
    )
    moved = crewyard.run(
        "plain", settings=scripted, models={"standard": "scripted/other"}, topic="tides"
    )
    assert moved.output == "from other"  # the alias override, not an input
    assert inputs_of(scripted, moved.run_id) == {"topic": "tides"}


@pytest.mark.parametrize(
    ("given", "message", "hint"),
    [
        ({"models": "gpt-4o"}, "models= is run()'s own keyword", "inputs={'models': …}"),
        ({"record": "yes"}, "record= is run()'s own keyword", "inputs={'record': …}"),
        ({"stream": "fast"}, "stream= is run()'s own keyword", "inputs={'stream': …}"),
        ({"inputs": "a, b"}, "inputs= takes the crew's inputs as a mapping", '{"inputs": …}'),
        (
            {"inputs": {"topic": "a"}, "topic": "b"},
            "input 'topic' is given twice",
            "give it once",
        ),
    ],
)
def test_a_value_that_cannot_mean_the_keyword_says_so(
    scripted: Settings, make_crew: MakeCrew, given: dict[str, object], message: str, hint: str
) -> None:
    comparing(make_crew, BOTH)
    with pytest.raises(ConfigError) as info:
        crewyard.run("compare", settings=scripted, **given)
    assert message in str(info.value) and hint in (info.value.hint or "")
