"""Human input on both engines through one Human: CrewAI's `human_input: true` answered by a
callback, round after round; with nobody there the run parks as waiting_for_input, survives
the process, and goes on after `runs answer` without paying its recorded calls again; a human
judge of an AutoGen debate and a person approving a coder's program."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunWaiting
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.human import CallbackHuman, Question
from crewyard.human.answers import give_answer
from crewyard.runs.questions import QuestionStore
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS

ROOT = Path(__file__).resolve().parents[2]
REVIEWED = {**TWO_TASKS, "research": {**TWO_TASKS["research"], "human_input": True}}


def reviewed_crew(make_crew: Any) -> None:
    make_crew(
        "demo",
        crew={"name": "demo", "inputs": TOPIC_INPUT, "memory": {"enabled": False}},
        agents=TWO_AGENTS,
        tasks=REVIEWED,
    )


def test_crewai_human_input_rounds_go_to_the_agent_until_accepted(
    settings: Settings, make_crew: Any
) -> None:
    reviewed_crew(make_crew)
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script(
        "main", ["Final Answer: many facts", "Final Answer: three facts", "# Report"]
    )
    asked: list[Question] = []

    def person(question: Question) -> str:
        asked.append(question)
        return "keep it to three" if len(asked) == 1 else ""

    dispatcher = Dispatcher(settings, gateway=gateway, human=CallbackHuman(person))
    result = dispatcher.run(load_crew("demo", settings.crews_dir), {"topic": "tides"})

    assert result.output == "# Report"
    assert [q.context for q in asked] == ["many facts", "three facts"]
    assert [q.key for q in asked] == ["research:review:1", "research:review:2"]
    assert "keep it to three" in json.dumps(script.calls[1])  # the feedback reached the agent
    assert result.task_outputs[0].output == "three facts"
    answers = QuestionStore(settings.run_store).of_run(result.run_id)
    assert [(a.answer, a.answered_by) for a in answers] == [
        ("keep it to three", "person"),
        ("", "person"),
    ]


def _main(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CREWYARD_DATA_DIR": str(settings.data_dir),
        "CREWYARD_CREWS_DIR": str(settings.crews_dir),
        "CREWYARD_MODELS_FILE": str(settings.models_file),
    }
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,  # nobody at a terminal
        capture_output=True,
        text=True,
        timeout=300,
    )


def _script(settings: Settings, replies: list[str]) -> None:
    models = {"aliases": {"standard": {"model": "scripted/main", "script": replies}}}
    settings.models_file.write_text(json.dumps(models))


def test_with_nobody_there_the_run_parks_and_runs_answer_resumes_it_in_a_new_process(
    settings: Settings, make_crew: Any
) -> None:
    reviewed_crew(make_crew)
    _script(settings, ["Final Answer: many facts"])
    parked = _main(settings, "--crew", "demo", "--input", "topic=tides")

    assert parked.returncode == 3, parked.stderr
    assert "waiting for input" in parked.stderr and "runs answer" in parked.stderr
    run_id = parked.stderr.split("runs answer ")[1].split()[0]
    store = RunStore(settings.run_store)
    assert store.get(run_id).status == "waiting_for_input"
    (question,) = QuestionStore(settings.run_store).waiting(run_id)
    assert question.context == "many facts" and question.task == "research"

    # the first reply is in the run's cassette: the resumed run gets it from there, so the
    # script of each new process holds only the calls still to make
    _script(settings, ["Final Answer: three facts"])
    second = _main(settings, "runs", "answer", run_id, "keep it to three")
    assert second.returncode == 3, second.stderr  # feedback given: CrewAI asks again
    assert store.get(run_id).status == "answered"
    again = second.stderr.split("runs answer ")[-1].split()[0]
    (question,) = QuestionStore(settings.run_store).waiting(again)
    assert question.context == "three facts" and question.key == "research:review:2"

    _script(settings, ["# Report"])
    done = _main(settings, "runs", "answer", again, "")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "# Report"
    last = store.recent(1)[0]
    assert last.status == "done" and last.id not in (run_id, again)
    replayed = [c for c in store.model_calls(last.id) if c["replayed"]]
    assert len(replayed) == 2  # both recorded replies reused: none was paid twice
    twice = _main(settings, "runs", "answer", run_id, "twice")
    assert twice.returncode == 2 and "not waiting for input" in twice.stderr


def test_a_human_judge_of_a_debate_is_asked_with_the_transcript(
    settings: Settings, make_crew: Any
) -> None:
    debaters = {
        "pro": {"role": "Proposer", "goal": "Argue for", "backstory": "b"},
        "con": {"role": "Critic", "goal": "Argue against", "backstory": "b"},
    }
    make_crew(
        "duel",
        crew={
            "process": "debate",
            "engine_options": {"rounds": 1, "human": "judge"},
            "memory": {"enabled": False},
            "human": {"timeout_s": 3600, "default": "no verdict"},
        },
        agents=debaters,
        tasks={"decide": {"description": "Tabs or spaces?", "expected_output": "A verdict"}},
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", ["Tabs: one key.", "Spaces: same everywhere."])
    spec = load_crew("duel", settings.crews_dir)
    with pytest.raises(RunWaiting) as parked:
        Dispatcher(settings, gateway=gateway).run(spec)
    run_id = parked.value.result.run_id
    (question,) = QuestionStore(settings.run_store).waiting(run_id)
    assert "Tabs: one key." in (question.context or "") and "Spaces" in (question.context or "")
    assert question.default == "no verdict" and question.deadline is not None

    give_answer(settings, run_id, "Spaces, for the diffs.")
    result = Dispatcher(settings, gateway=gateway).run(spec, resume=run_id)

    assert result.output == "Spaces, for the diffs."
    assert len(script.calls) == 2  # the debaters' turns came from the cassette
    turns = RunStore(settings.run_store).turns(result.run_id)
    assert turns[-1][1:] == ("judge", "Spaces, for the diffs.")


def test_a_person_approves_the_coders_program_before_it_is_saved(
    settings: Settings, make_crew: Any
) -> None:
    make_crew(
        "code",
        crew={
            "process": "coding",
            "engine_options": {"human": "approve", "tests": "assert VALUE > 0", "max_rounds": 2},
            "memory": {"enabled": False},
        },
        agents={"coder": {"role": "Coder", "goal": "Write Python", "backstory": "b"}},
        tasks={"value": {"description": "Set VALUE", "expected_output": "A program"}},
    )
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script(
        "main", ["```python\nVALUE = 1\n```", "```python\nVALUE = 2\n```"]
    )
    answers = iter(["make it 2", "yes"])
    asked: list[Question] = []

    def person(question: Question) -> str:
        asked.append(question)
        return next(answers)

    dispatcher = Dispatcher(settings, gateway=gateway, human=CallbackHuman(person))
    result = dispatcher.run(load_crew("code", settings.crews_dir))

    assert [q.context.strip() for q in asked] == ["VALUE = 1", "VALUE = 2"]
    assert "make it 2" in json.dumps(script.calls[1])  # the change went to the coder
    assert result.output.strip() == "VALUE = 2"
    assert (Path(result.output_dir or "") / "value.py").read_text().strip() == "VALUE = 2"


def test_a_worker_takes_the_default_of_a_question_past_its_deadline(
    settings: Settings, make_crew: Any
) -> None:
    from crewyard.durable.deadlines import take_defaults
    from crewyard.durable.runner import CrewRunner

    make_crew(
        "demo",
        crew={
            "name": "demo",
            "inputs": TOPIC_INPUT,
            "memory": {"enabled": False},
            "human": {"timeout_s": 0.2, "default": ""},
        },
        agents=TWO_AGENTS,
        tasks=REVIEWED,
    )
    _script(settings, ["Final Answer: many facts"])
    runner = CrewRunner(settings)
    try:
        with pytest.raises(RunWaiting) as parked:
            runner.run_crew("demo", {"topic": "tides"}, "parked-run")
        assert parked.value.result.run_id == "parked-run"
        said: list[str] = []
        assert take_defaults(runner, said.append) == []  # not overdue yet
        time.sleep(0.3)
        _script(settings, ["# Report"])
        runner.close()  # its gateway read the old script: the resumed run reads the new one
        threads = take_defaults(runner, said.append)
        assert len(threads) == 1 and take_defaults(runner, said.append) == []  # taken once
        threads[0].join(timeout=300)
    finally:
        runner.close()
    store = RunStore(settings.run_store)
    assert store.get("parked-run").status == "answered"
    resumed = store.recent(1)[0]
    assert (resumed.status, resumed.output) == ("done", "# Report")
    assert QuestionStore(settings.run_store).of_run("parked-run")[0].answered_by == "timeout"
    assert "taking the default ''" in said[0]
