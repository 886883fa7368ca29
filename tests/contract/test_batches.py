"""`python main.py batch`: a crew over many items on the durable engine (real DBOS on SQLite,
real CrewAI), each model call answered by the fake server from what the request asks."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from crewyard.cli import main
from crewyard.settings import Settings
from tests.conftest import cli_uses, standard_at
from tests.fakellm.server import FakeLLM, Reply

FAILING = {"t07", "t23", "t41"}


def answer(body: dict[str, Any], failing: set[str] = FAILING) -> Reply:
    """A task's answer about the item's topic; a 400 for the topics meant to fail. (The topic is
    read from the task, not the whole prompt: recalled memory names other items' topics.)"""
    prompt = "\n".join(str(m.get("content") or "") for m in body["messages"])
    topic = re.findall(r"Current Task: [^\n]*?(t\d+)\.", prompt)[-1]
    if topic in failing:
        return Reply(status=400, error=f"the model refuses {topic}")
    return Reply(text=f"Final Answer: notes on {topic}")


def items_csv(path: Path, count: int) -> Path:
    path.write_text("topic\n" + "".join(f"t{n:02d}\n" for n in range(count)))
    return path


@pytest.fixture
def fake() -> Any:
    with FakeLLM(latency=0.05, responder=answer) as server:
        yield server


@pytest.fixture
def env(
    settings: Settings, two_step_crew: Path, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    standard_at(settings, fake.url, monkeypatch, num_retries=0)
    cli_uses(settings, monkeypatch)
    return settings


def test_fifty_items_three_failing_four_at_a_time(
    env: Settings, fake: FakeLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = items_csv(tmp_path / "topics.csv", 50)
    out = tmp_path / "results.jsonl"
    code = main(
        [
            *["batch", "--crew", "demo", "--inputs", str(inputs)],
            *["--concurrency", "4", "--out", str(out)],
        ]
    )
    report = capsys.readouterr().out
    assert code == 1
    assert "47 done, 3 failed" in report
    listed = re.findall(r"^  failed (\S+): (.*)$", report, re.M)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    by_topic = {r["inputs"]["topic"]: r for r in records}
    failed_ids = {by_topic[t]["id"] for t in FAILING}
    assert {item_id for item_id, _ in listed} == failed_ids
    assert all("the model refuses" in error for _, error in listed)

    # every item once in the results, each with what its run produced
    lines = out.read_text().splitlines()
    assert len(lines) == 50 and len(by_topic) == 50
    assert len({json.loads(line)["id"] for line in lines}) == 50
    for topic, record in by_topic.items():
        if topic in FAILING:
            assert record["status"] == "failed" and record["output"] is None
        else:
            assert record["status"] == "done"
            assert record["output"] == f"notes on {topic}"
            assert record["tokens"] > 0 and record["run_id"]

    # two calls an item (a failing one stops at its first), never more than 4 at once
    assert len(fake.requests) == 47 * 2 + 3
    assert 2 <= fake.max_in_flight <= 4

    batch_id = re.findall(r"^batch (\S+) ", report, re.M)[0]
    assert main(["batch", "status", batch_id, "--json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["done"] == 47 and status["counts"]["failed"] == 3
    assert status["status"] == "failed"

    # resuming a finished batch runs nothing again
    before = len(fake.requests)
    assert main(["batch", "resume", batch_id]) == 1
    assert len(fake.requests) == before
    assert len(out.read_text().splitlines()) == 50


def test_a_spent_budget_skips_the_items_left(
    env: Settings, fake: FakeLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = items_csv(tmp_path / "topics.csv", 6)
    code = main(
        [
            *["batch", "--crew", "demo", "--inputs", str(inputs)],
            *["--concurrency", "1", "--budget-tokens", "1"],
        ]
    )
    captured = capsys.readouterr()
    report = captured.out
    assert code == 1, captured.err
    # the first item spends the budget; no later item starts
    assert "1 done, 0 failed, 5 skipped" in report
    assert len(fake.requests) == 2
    assert report.count("the batch's budget was spent before it") == 5


def test_a_wrong_inputs_column_stops_the_batch_before_any_call(
    env: Settings, fake: FakeLLM, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = tmp_path / "topics.csv"
    inputs.write_text("topic,colour\nt01,red\n")
    assert main(["batch", "--crew", "demo", "--inputs", str(inputs)]) == 2
    err = capsys.readouterr().err
    assert "colour" in err and "topics.csv" in err
    assert fake.requests == []


def test_a_detached_batch_says_what_it_queued_in_json(
    env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = items_csv(tmp_path / "topics.csv", 3)
    argv = ["batch", "--crew", "demo", "--inputs", str(inputs), "--detach", "--json"]
    assert main(argv) == 0
    queued = json.loads(capsys.readouterr().out)
    assert (queued["crew"], queued["queued"]) == ("demo", 3)
    assert main(["batch", "status", queued["batch_id"], "--json"]) == 1  # queued, not done
    status = json.loads(capsys.readouterr().out)
    assert status["counts"]["queued"] == 3
