"""The shipped coding crew (crews/coding) on the real AutoGen engine and sandbox with a
scripted coder: its tests are the run's examples, so a solve() that gives a wrong answer is
sent back to the coder, and one that stays wrong fails the run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.errors import InputError
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
INPUTS = {
    "spec": "return the sum of a list of numbers",
    "examples": "assert solve([1, 2, 3]) == 6\nassert solve([]) == 0",
}
WRONG = "```python\ndef solve(numbers):\n    return len(numbers)\n```"  # callable, but wrong
RIGHT = "```python\ndef solve(numbers):\n    return sum(numbers)\n```"


def run(settings: Settings, replies: list[str]) -> tuple[Dispatcher, list[str], object]:
    shutil.copytree(ROOT / "crews" / "coding", settings.crews_dir / "coding")
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", replies)
    return Dispatcher(settings, gateway=gateway), replies, script


def test_a_wrong_solution_is_sent_back_and_the_right_one_is_saved(settings: Settings) -> None:
    dispatcher, _, script = run(settings, [WRONG, RIGHT])
    result = dispatcher.run(load_crew("coding", settings.crews_dir), INPUTS)

    calls = script.calls  # type: ignore[attr-defined]
    first, second = json.dumps(calls[0]), json.dumps(calls[1])
    assert "solve([1, 2, 3]) == 6" in first  # the examples are the tests the coder reads
    assert "define the function solve()" in first
    assert "AssertionError" in second  # len([1, 2, 3]) is 3, not 6: fed back
    solution = Path(result.output_dir or "") / "solution.py"
    assert "return sum(numbers)" in solution.read_text()


def test_a_solution_that_stays_wrong_fails_the_run(settings: Settings) -> None:
    dispatcher, _, _ = run(settings, [WRONG, WRONG, WRONG])
    with pytest.raises(RunFailed, match="still fails after 3 execution"):
        dispatcher.run(load_crew("coding", settings.crews_dir), INPUTS)


def test_the_crew_needs_examples_to_test_against(settings: Settings) -> None:
    shutil.copytree(ROOT / "crews" / "coding", settings.crews_dir / "coding")
    dispatcher = Dispatcher(settings, gateway=Gateway(ModelTable.load(settings.models_file)))
    with pytest.raises(InputError, match="needs input 'examples'") as info:
        dispatcher.run(load_crew("coding", settings.crews_dir), {"spec": "sum"})
    assert 'add --input examples="' in str(info.value)
