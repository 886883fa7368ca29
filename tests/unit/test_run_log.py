"""Each run's JSON-lines log gets the records bound to that run, and only those, through one
sink that survives a caller removing every loguru sink."""

from __future__ import annotations

import json
from pathlib import Path

from loguru import logger

from crewyard.observe.logs import run_log


def lines(path: Path) -> list[str]:
    return [json.loads(line)["record"]["message"] for line in path.read_text().splitlines()]


def test_overlapping_runs_each_log_their_own_records(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    with run_log(first, "run-a"):
        logger.bind(run_id="run-a").trace("a one")
        with run_log(second, "run-b"):
            logger.bind(run_id="run-b").info("b one")
            logger.bind(run_id="run-a").debug("a two")
            logger.info("bound to no run")
        logger.bind(run_id="run-b").info("b after its run ended")
    logger.bind(run_id="run-a").info("a after its run ended")
    assert lines(first) == ["a one", "a two"]
    assert lines(second) == ["b one"]


def test_a_run_after_the_caller_removed_every_sink_still_logs(tmp_path: Path) -> None:
    with run_log(tmp_path / "before.jsonl", "before"):
        logger.bind(run_id="before").info("kept")
    logger.remove()  # what a script configuring its own logging does
    with run_log(tmp_path / "after.jsonl", "after"):
        logger.bind(run_id="after").info("kept too")
    assert lines(tmp_path / "after.jsonl") == ["kept too"]
    with run_log(tmp_path / "again.jsonl", "again"):  # one sink, not one more per run
        logger.bind(run_id="again").info("once")
    assert lines(tmp_path / "again.jsonl") == ["once"]
