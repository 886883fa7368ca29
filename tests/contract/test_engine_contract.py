"""One contract for every engine: the same crew shape and the same scripted provider
(tests/fakellm) through CrewAI sequential and hierarchical and AutoGen debate and coding must
give the same RunResult shape, usage accounting, events and checkpoints.
A new engine is done when it passes this suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.fakellm import FakeLLM, Reply

REPLY = "Final Answer: ```python\nprint('contract ok')\n```"
AGENTS = {
    "proposer": {
        "role": "Proposer",
        "goal": "Answer {question}",
        "backstory": "Bold.",
        "max_retry_limit": 0,
    },
    "critic": {"role": "Critic", "goal": "Doubt", "backstory": "Careful.", "max_retry_limit": 0},
    "judge": {"role": "Judge", "goal": "Decide", "backstory": "Fair.", "max_retry_limit": 0},
}
# process → (engine, extra crew.yaml keys, model calls the engine makes for one task)
ENGINES: dict[str, tuple[str, dict[str, Any], int]] = {
    "sequential": ("crewai", {}, 1),
    "hierarchical": ("crewai", {"models": {"manager": "standard"}}, 1),
    "debate": ("autogen", {"engine_options": {"rounds": 1}}, 3),
    "coding": ("autogen", {"engine_options": {"coder": "proposer", "max_rounds": 1}}, 1),
}


@pytest.mark.parametrize("process", list(ENGINES))
def test_every_engine_honours_the_run_contract(
    process: str,
    settings: Settings,
    make_crew: Any,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, extra, calls = ENGINES[process]
    make_crew(
        "contract",
        crew={"process": process, "inputs": {"question": {}}, **extra},
        agents=AGENTS,
        tasks={
            "answer": {
                "description": "Answer: {question}",
                "expected_output": "An answer",
                "agent": "proposer",
                "output_file": "answers/{question}.md",
            }
        },
    )
    fakellm.add(*[Reply(REPLY, prompt_tokens=10, completion_tokens=5) for _ in range(calls)])
    monkeypatch.setenv("FAKE_KEY", "contract-key-0000")
    settings.models_file.write_text(
        json.dumps(
            {
                "aliases": {
                    "standard": {
                        "model": "openai/fake-model",
                        "api_base": fakellm.url,
                        "api_key_env": "FAKE_KEY",
                        "num_retries": 0,
                    }
                }
            }
        )
    )
    seen: list[str] = []
    dispatcher = Dispatcher(settings, listeners=[lambda e: seen.append(e.kind)])

    result = dispatcher.run(load_crew("contract", settings.crews_dir), {"question": "why?"})

    # the same RunResult shape
    assert (result.status, result.engine, result.crew) == ("done", engine, "contract")
    assert [t.task for t in result.task_outputs] == ["answer"]
    assert "contract ok" in result.output and result.output == result.task_outputs[0].output
    # the same accounting: every call of the provider, with the provider's own counts
    assert len(fakellm.requests) == calls
    assert result.usage["calls"] == calls
    assert (result.usage["prompt_tokens"], result.usage["completion_tokens"]) == (
        10 * calls,
        5 * calls,
    )
    assert "why?" in fakellm.prompts()[0]
    # the same events, in the same order, and the same checkpoint
    assert seen[0] == "run_started" and seen[-1] == "run_finished"
    assert seen.count("model_call") == calls
    assert seen.index("task_started") < seen.index("model_call") < seen.index("task_finished")
    store = RunStore(settings.runs_db)
    assert [c.task for c in store.checkpoints(result.run_id)] == ["answer"]
    assert store.get(result.run_id).status == "done"
    # the same finished-task path: the output file's placeholders filled, inside the run folder
    (done,) = result.task_outputs
    assert done.output_file == "answers/why?.md"
    assert (Path(result.output_dir or "") / "answers" / "why?.md").read_text() == done.output
