"""Every file of a run stays in the data folder: CrewAI's own task-output database too, which
CrewAI otherwise keeps under the home folder, mixing every project's outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from crewyard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_a_crewai_run_writes_its_task_outputs_in_the_data_folder(
    settings: Settings, two_step_crew: Path, tmp_path: Path
) -> None:
    script = ["Final Answer: - a fact", "Final Answer: # A report"]
    models = {"aliases": {"standard": {"model": "scripted/main", "script": script}}}
    settings.models_file.write_text(json.dumps(models))
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "CREWAI_STORAGE"))},
        "HOME": str(home),
        "CREWYARD_DATA_DIR": str(settings.data_dir),
        "CREWYARD_CREWS_DIR": str(settings.crews_dir),
        "CREWYARD_MODELS_FILE": str(settings.models_file),
    }
    done = subprocess.run(
        [sys.executable, "main.py", "--crew", "demo", "--input", "topic=tides", "-q"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert list(home.rglob("latest_kickoff_task_outputs.db")) == []
    (kept,) = (settings.data_dir / "crewai").glob("*.db")
    assert (
        kept.stem
        == json.loads(
            subprocess.run(
                [sys.executable, "main.py", "runs", "--json"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )[0]["id"]
    )
