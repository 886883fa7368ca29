"""Runs that survive what goes wrong: provider faults at a set rate during a real CrewAI run
(each completes through a retry, every attempt in the run record, no finished output lost), a
tool that keeps failing (switched off, the agent carries on, the run notes it), and an API key
that never leaks into logs, the run store or error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crewyard import tools
from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from crewyard.tools import tool
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS, cli_uses, standard_at
from tests.contract.test_faults import TRANSIENT, TRANSIENT_IDS
from tests.fakellm import FakeLLM, Reply

CANARY = "canary-7f3a9c1e2b5d4e6f8a0b"  # an API key nobody may ever see


def use_fakellm(settings: Settings, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    # a name that does not look like a key: masked because models.yaml names it
    standard_at(
        settings,
        fake.url,
        monkeypatch,
        key=CANARY,
        key_env="ACME_LLM_AUTH",
        timeout=0.8,
        num_retries=1,
        retry_backoff_s=0,
    )


@pytest.fixture
def research(settings: Settings, make_crew: Any) -> Any:
    make_crew("demo", crew={"inputs": TOPIC_INPUT}, agents=TWO_AGENTS, tasks=TWO_TASKS)
    return load_crew("demo", settings.crews_dir)


@pytest.mark.parametrize(
    "fault", TRANSIENT[:2] + TRANSIENT[3:], ids=TRANSIENT_IDS[:2] + TRANSIENT_IDS[3:]
)
def test_a_run_completes_through_faults_at_a_set_rate(
    settings: Settings,
    research: Any,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    fault: Reply,
) -> None:
    use_fakellm(settings, fakellm, monkeypatch)
    fakellm.inject([fault], every=2)  # requests 2, 4, …: one in two fails
    fakellm.add("Final Answer: - tides move twice a day", "# Tides\nA report.")

    result = Dispatcher(settings).run(research, {"topic": "tides"})

    assert result.status == "done" and result.output == "# Tides\nA report."
    assert [t.task for t in result.task_outputs] == ["research", "write"]
    calls = RunStore(settings.runs_db).model_calls(result.run_id)
    assert [(c["task"], c["attempt"], c["error"] is None) for c in calls] == [
        ("research", 1, True),
        ("write", 1, False),  # the fault, recorded
        ("write", 2, True),  # its retry
    ]
    assert fakellm.faults_served == 1 and result.usage["failed_attempts"] == 1


def test_a_run_whose_model_stays_down_keeps_what_it_finished(
    settings: Settings,
    research: Any,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    use_fakellm(settings, fakellm, monkeypatch)
    fakellm.add(
        "Final Answer: - tides move twice a day",
        Reply(status=503, error="overloaded"),
        # a provider that echoes the key it was given must not leak it
        Reply(status=500, error=f"internal error for key {CANARY}"),
    )
    cli_uses(settings, monkeypatch)

    assert main(["--crew", "demo", "--input", "topic=tides"]) == 1

    err = capsys.readouterr().err
    assert "all 2 attempts failed" in err and "overloaded" in err
    assert "kept 1 finished task output(s): research" in err
    run = RunStore(settings.runs_db).recent(1)[0]
    assert run.status == "failed"
    assert [c.task for c in RunStore(settings.runs_db).checkpoints(run.id)] == ["research"]
    assert main(["runs", "show", run.id]) == 0
    shown = capsys.readouterr().out
    assert "attempt 1 on standard failed (write · writer): ServiceUnavailableError" in shown
    assert "attempt 2 on standard failed" in shown and CANARY not in shown
    written = [*settings.data_dir.rglob("*.jsonl"), *settings.data_dir.rglob("runs.sqlite3*")]
    assert written and not [p for p in written if CANARY.encode() in p.read_bytes()]
    assert CANARY not in err and "[REDACTED]" in err


def test_a_tool_that_keeps_failing_is_switched_off_and_the_agent_carries_on(
    settings: Settings,
    make_crew: Any,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @tool
    def weather(city: str) -> str:
        """Today's weather in a city."""
        raise ConnectionError("weather service unreachable")

    monkeypatch.setitem(tools._registered, "weather", weather)
    make_crew(
        "forecast",
        crew={"memory": {"enabled": False}},
        agents={"a": {"role": "Forecaster", "goal": "g", "backstory": "b", "tools": ["weather"]}},
        tasks={"t": {"description": "Weather in four cities", "expected_output": "x"}},
    )
    use_fakellm(settings, fakellm, monkeypatch)
    cities = ["Oslo", "Lima", "Pune", "Nice"]
    fakellm.add(
        *[f'Thought: look\nAction: weather\nAction Input: {{"city": "{c}"}}' for c in cities],
        "Thought: no tool left\nFinal Answer: forecast from what I know",
    )

    result = Dispatcher(settings).run(load_crew("forecast", settings.crews_dir), {})

    assert result.status == "done" and result.output == "forecast from what I know"
    prompts = fakellm.prompts()
    assert "weather service unreachable" in prompts[1]  # the agent read the failure
    assert "switched off for the rest of this run" in prompts[4]  # and then the switch-off
    events = RunStore(settings.runs_db).events(result.run_id)
    tool_calls = [d for k, d in events if k == "tool_call"]
    assert [d.get("failed") for d in tool_calls] == [True, True, True, None]
    assert tool_calls[3]["skipped"] is True  # the 4th call was refused, not run
    assert [d["tool"] for k, d in events if k == "tool_disabled"] == ["weather"]
    assert result.notes and result.notes[0].startswith("tool weather switched off")


def test_secret_environment_names_are_masked(tmp_path: Path) -> None:
    from crewyard.redact import redact

    env = {"MY_PROVIDER_KEY": "abcdefgh12345678", "HOME": "/home/someone"}
    assert redact("key abcdefgh12345678 at /home/someone", env) == "key [REDACTED] at /home/someone"
