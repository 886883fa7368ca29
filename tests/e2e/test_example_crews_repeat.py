"""Each shipped example crew, run again and again on the embedded model as a user runs it
(`python main.py --crew …`): every run must end `done` (exit 0). The count per crew is
CREWYARD_E2E_CREW_RUNS (default 1, what CI affords on 2 cores); bench/example_crews.py
runs 20 and prints the success rate."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.test_example_crews import run_main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
RUNS = int(os.environ.get("CREWYARD_E2E_CREW_RUNS", "1"))
CREWS = {
    "research": ["topic=home solar batteries"],
    "launch_plan": ["goal=launch a solar battery subscription"],
    "debate": ["question=Should a town build a community solar farm?"],
    "coding": [
        "spec=return the sum of a list of numbers",
        "examples=assert solve([1, 2, 3]) == 6; assert solve([]) == 0",
    ],
}


@pytest.mark.parametrize("crew", list(CREWS))
def test_the_example_crew_succeeds_every_run(crew: str, tmp_path: Path) -> None:
    args = ["--crew", crew]
    for given in CREWS[crew]:
        args += ["--input", given]
    failed = []
    for number in range(RUNS):
        done = run_main(args, tmp_path / str(number))
        if done.returncode != 0:
            failed.append(f"run {number + 1}: exit {done.returncode}: {done.stderr[-600:]}")
    assert not failed, f"{len(failed)} of {RUNS} runs failed:\n" + "\n".join(failed)
