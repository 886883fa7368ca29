"""The planning example crews (study_plan, estimate, brainstorm) on the embedded model, as a
user runs them: a batch of several inputs each (CREWYARD_E2E_RUNS per crew, 3 by default; the
benchmark runs 20), every item done with its guardrails passed, and every plan, evidence step
and score recorded — the grammar made every structured reply parse."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_example_crews import run_main

pytestmark = pytest.mark.e2e
RUNS = int(os.environ.get("CREWYARD_E2E_RUNS", "3"))
SUBJECTS = ["Spanish", "chess", "baking bread", "Python", "the guitar", "birds", "knots"]
QUESTIONS = [
    "A panel makes 1.5 kWh a day. How many kWh in 365 days?",
    "A bike costs 240 dollars paid in 12 parts. How much is one part?",
    "A room is 4 m by 5 m. What is its area?",
    "Tea costs 3 dollars a cup. What do 17 cups cost?",
    "A class of 28 splits into teams of 4. How many teams?",
]
PRODUCTS = ["a bike repair shop", "a bakery", "a language school", "a plant nursery", "a cafe"]
CREWS = {
    "study_plan": ("subject", SUBJECTS, "plan_made"),
    "estimate": ("question", QUESTIONS, "evidence"),
    "brainstorm": ("product", PRODUCTS, "thoughts_scored"),
}


@pytest.mark.parametrize("crew", list(CREWS))
def test_a_planning_crew_completes_every_run_on_the_embedded_model(
    crew: str, tmp_path: Path
) -> None:
    key, values, recorded = CREWS[crew]
    items = tmp_path / "items.jsonl"
    lines = [json.dumps({"id": f"r{i}", key: values[i % len(values)]}) for i in range(RUNS)]
    items.write_text("\n".join(lines) + "\n")
    done = run_main(
        ["batch", "--crew", crew, "--inputs", str(items), "--concurrency", "1"],
        tmp_path,
        CREWYARD_PROGRESS="false",
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    db = sqlite3.connect(tmp_path / "data" / "runs.sqlite3")
    runs = db.execute("SELECT id, status FROM runs WHERE crew = ?", (crew,)).fetchall()
    assert len(runs) == RUNS and {status for _, status in runs} == {"done"}
    for run_id, _ in runs:
        kinds = [k for (k,) in db.execute("SELECT kind FROM events WHERE run_id = ?", (run_id,))]
        assert recorded in kinds and "guardrail_passed" in kinds
