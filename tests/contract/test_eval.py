"""python main.py eval: each case run N times on the real engine (scripted model), its output
checked with guardrail keys (a pattern, a length, an LLM judge); pass rates, tokens and cost
per case; exit 1 below the threshold; a bad cases file is a file:line error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.settings import Settings
from tests.conftest import cli_uses, write_yaml

CASES = {
    "threshold": 0.8,
    "cases": [
        {
            "name": "moon",
            "inputs": {"topic": "tides"},
            "runs": 2,
            "checks": {"must_match": ["moon"]},
        },
        {
            "name": "notes",
            "inputs": {"topic": "tides"},
            "task": "research",
            "checks": {"min_length": 12, "judge": "lists facts", "judge_model": "standard"},
        },
    ],
}


@pytest.fixture
def env(settings: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    cli_uses(settings, monkeypatch)
    return settings


def script(settings: Settings, replies: list[str]) -> None:
    models = {"aliases": {"standard": {"model": "scripted/main", "script": replies}}}
    settings.models_file.write_text(json.dumps(models))


def test_cases_are_run_checked_and_reported(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script(
        env,
        [
            "Final Answer: facts",
            "# Tides follow the moon",  # moon, run 1: passes
            "Final Answer: facts",
            "# Tides rise and fall",  # moon, run 2: no "moon"
            "Final Answer: many facts about tides",
            "# Report",
            '{"pass": true, "reasons": "it lists facts"}',  # the judge of notes
        ],
    )
    cases = write_yaml(tmp_path / "cases.yaml", CASES)
    code = main(["eval", "--crew", "demo", "--cases", str(cases), "--json"])
    report = json.loads(capsys.readouterr().out)

    assert code == 1  # 2 of 3 runs passed: below 0.8
    assert report["pass_rate"] == pytest.approx(2 / 3) and report["passed"] is False
    moon, notes = report["cases"]
    assert (moon["name"], moon["runs"], moon["passed"]) == ("moon", 2, 1)
    assert "does not match the pattern 'moon'" in moon["failures"][0][1]
    assert (notes["runs"], notes["passed"]) == (1, 1)
    assert notes["tokens"] > 0  # the run's calls and the judge's


def test_a_bad_cases_file_says_where(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = {"cases": [{"name": "x", "task": "reserch", "checks": {"must_match": ["a"]}}]}
    cases = write_yaml(tmp_path / "cases.yaml", wrong)
    assert main(["eval", "--crew", "demo", "--cases", str(cases)]) == 2
    err = capsys.readouterr().err
    assert "no task 'reserch'" in err and "cases.yaml:" in err and "did you mean 'research'" in err
    typo = {"cases": [{"name": "x", "checks": {"must_mach": ["a"]}}]}
    write_yaml(cases, typo)
    assert main(["eval", "--crew", "demo", "--cases", str(cases)]) == 2
    assert "must_mach" in capsys.readouterr().err


def test_a_passing_eval_prints_a_table_and_exits_0(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script(env, ["Final Answer: facts", "# The moon pulls"])
    one = {
        "cases": [
            {"name": "moon", "inputs": {"topic": "tides"}, "checks": {"must_match": ["moon"]}}
        ]
    }
    cases = write_yaml(tmp_path / "cases.yaml", one)
    assert main(["eval", "--crew", "demo", "--cases", str(cases)]) == 0
    out = capsys.readouterr().out
    assert "moon" in out and "1/1" in out and "overall 100% (threshold 100%): passed" in out
