"""The real CrewAI engine against tests/fakellm, an OpenAI-compatible server on 127.0.0.1:
prompts, outputs, usage and failures as a provider would see and cause them."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import cli_uses, standard_at
from tests.fakellm import FakeLLM, Reply

KEY = "fake-key-for-tests-0001"


def point_at(
    settings: Settings, url: str, monkeypatch: pytest.MonkeyPatch, retries: int = 0
) -> None:
    standard_at(settings, url, monkeypatch, key=KEY, num_retries=retries)


def test_sequential_crew_prompts_outputs_and_usage(
    settings: Settings, two_step_crew: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(
        Reply(
            "Thought: I know\nFinal Answer: - tides rise twice a day",
            prompt_tokens=120,
            completion_tokens=12,
        ),
        Reply("# Tides\nA short report.", prompt_tokens=150, completion_tokens=8),
    )
    point_at(settings, fakellm.url, monkeypatch)

    result = Dispatcher(settings).run(load_crew("demo", settings.crews_dir), {"topic": "tides"})

    first, second = fakellm.prompts()
    assert "Researcher" in first and "Find facts about tides" in first
    assert "List facts about tides." in first
    assert "Write a report on tides." in second
    assert "tides rise twice a day" in second  # the first task's output is the context
    assert all(r["model"] == "fake-model" for r in fakellm.requests)
    assert "\nObservation:" in fakellm.requests[0].get("stop", [])
    assert fakellm.headers[0]["authorization"] == f"Bearer {KEY}"
    assert result.output == "# Tides\nA short report."
    assert result.task_outputs[0].output == "- tides rise twice a day"
    assert (result.usage["prompt_tokens"], result.usage["completion_tokens"]) == (270, 20)
    calls = RunStore(settings.runs_db).model_calls(result.run_id)
    assert [(c["prompt_tokens"], c["completion_tokens"]) for c in calls] == [(120, 12), (150, 8)]


def test_provider_error_fails_the_run_and_keeps_finished_outputs(
    settings: Settings, two_step_crew: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(
        Reply("Final Answer: the facts"),
        Reply(status=500, error="upstream exploded"),
        Reply(status=500, error="upstream exploded"),
    )
    point_at(settings, fakellm.url, monkeypatch, retries=1)

    with pytest.raises(RunFailed) as info:
        Dispatcher(settings).run(load_crew("demo", settings.crews_dir), {"topic": "x"})

    error = info.value.result.error or ""
    assert "model alias 'standard' (openai/fake-model)" in error
    assert "upstream exploded" in error
    assert KEY not in error
    assert len(fakellm.requests) == 3  # one good call, then one try + one retry
    kept = RunStore(settings.runs_db).checkpoints(info.value.result.run_id)
    assert [(c.task, c.output) for c in kept] == [("research", "the facts")]


def test_unreachable_model_exits_1_naming_the_alias(
    settings: Settings,
    two_step_crew: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    point_at(settings, f"http://127.0.0.1:{port}/v1", monkeypatch)
    cli_uses(settings, monkeypatch)

    assert main(["--crew", "demo", "--input", "topic=x", "-q"]) == 1

    err = capsys.readouterr().err
    assert "model alias 'standard' (openai/fake-model) failed" in err
    assert "Connection" in err
