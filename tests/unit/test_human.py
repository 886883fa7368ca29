"""The Human interface without an engine: answers a run already has come first, a person's
answers are recorded, nobody parks the question, a deadline passed takes the default; at a
terminal a timeout takes the default and a closed stdin parks."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from crewyard.crews.spec import HumanChoice
from crewyard.human import CallbackHuman, Question, RunHuman, WaitingForInput
from crewyard.human.terminal import TerminalHuman
from crewyard.runs.questions import QuestionStore


def store(tmp_path: Path) -> QuestionStore:
    return QuestionStore(tmp_path / "runs.sqlite3")


def q(key: str = "t:review:1", **kw: object) -> Question:
    return Question(key=key, prompt="OK?", context="draft", task="t", **kw)  # type: ignore[arg-type]


def test_nobody_parks_the_question_and_an_answer_given_later_is_found(tmp_path: Path) -> None:
    questions = store(tmp_path)
    with pytest.raises(WaitingForInput) as parked:
        RunHuman(questions, "r1", None).ask(q())
    assert "runs answer r1" in parked.value.hint
    (waiting,) = questions.waiting("r1")
    assert (waiting.prompt, waiting.context, waiting.answer) == ("OK?", "draft", None)

    assert questions.answer("r1", "t:review:1", "ship it", "person")
    assert not questions.answer("r1", "t:review:1", "again", "person")  # once only
    questions.carry("r1", "r2")
    asked: list[Question] = []
    person = CallbackHuman(lambda question: asked.append(question) or "never")
    assert RunHuman(questions, "r2", person).ask(q()) == "ship it"
    assert asked == []  # the carried answer came first: nobody was asked twice


def test_a_person_answers_now_and_it_is_recorded(tmp_path: Path) -> None:
    questions = store(tmp_path)
    human = RunHuman(questions, "r1", CallbackHuman(lambda question: f"yes to {question.context}"))
    assert human.ask(q()) == "yes to draft"
    (record,) = questions.of_run("r1")
    assert (record.answer, record.answered_by) == ("yes to draft", "person")
    assert [human.key("t:review"), human.key("t:review"), human.key("u:verdict")] == [
        "t:review:1",
        "t:review:2",
        "u:verdict:1",
    ]


def test_a_parked_question_past_its_deadline_takes_the_default(tmp_path: Path) -> None:
    questions = store(tmp_path)
    with pytest.raises(WaitingForInput):
        RunHuman(questions, "r1", None).ask(q(default="fine", timeout_s=0.01))
    time.sleep(0.05)
    assert RunHuman(questions, "r1", None).ask(q(default="fine", timeout_s=0.01)) == "fine"
    assert questions.of_run("r1")[0].answered_by == "timeout"


def test_terminal_timeout_takes_the_default_and_eof_parks() -> None:
    read, write = os.pipe()
    with os.fdopen(read) as silent, os.fdopen(write, "w"):
        out = io.StringIO()
        answer = TerminalHuman(silent, out).ask(q(default="as is", timeout_s=0.05))
    assert answer == "as is" and "no answer in 0.05 s" in out.getvalue()
    assert "draft" in out.getvalue() and "OK?" in out.getvalue()
    assert TerminalHuman(io.StringIO(""), io.StringIO()).ask(q()) is None
    assert TerminalHuman(io.StringIO("shorter\n"), io.StringIO()).ask(q()) == "shorter"


def test_a_default_needs_a_timeout() -> None:
    with pytest.raises(ValueError, match="timeout_s and default together"):
        HumanChoice(default="ok")
    assert HumanChoice(timeout_s=5, default="").default == ""
