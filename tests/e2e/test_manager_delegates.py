"""The hierarchical launch_plan crew on the embedded model: its manager (SmolLM2, which left
to itself answers everything alone) delegates to each coworker once, by the step grammar,
and the run ends done."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewyard.runs.store import RunStore
from tests.e2e.test_example_crews import run_main

pytestmark = pytest.mark.e2e


def test_the_manager_delegates_to_each_coworker_once(tmp_path: Path) -> None:
    done = run_main(["--crew", "launch_plan", "--input", "goal=sell batteries"], tmp_path)
    assert done.returncode == 0, done.stderr[-800:]
    store = RunStore(tmp_path / "data" / "runs.sqlite3")
    (run,) = store.recent(1, "launch_plan")
    asked = [d["coworker"] for kind, d in store.events(run.id) if kind == "delegation"]
    assert sorted(asked) == ["copywriter", "market researcher"]
