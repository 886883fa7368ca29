"""CrewAI-style projects (tests/crewai_projects/, written as `crewai create crew` lays them out,
some flat, some with a crew.yaml) dry-run unchanged: `python main.py --crew NAME --dry-run`
with CREWYARD_CREWS_DIR pointed at the corpus, each with the inputs its CrewAI main.py would
pass (inputs.json). The plan shows how tasks without an agent were assigned, and every CrewAI
key crewyard does not act on is reported with its file and line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "crewai_projects"

# what each dry run must show (stdout and stderr together)
EXPECTED: dict[str, list[str]] = {
    "latest_ai_development": [
        "process: sequential, CrewAI's default (the folder has no crew.yaml)",
        '"current_year": "2026"',
        "1. research_task (researcher)",
        "2. reporting_task (reporting_analyst)",
    ],
    "flat_blog": [
        "warning: crew 'flat_blog' does not use input 'current_year'; it is ignored",
        "writing_task (writer — assigned by rule: task and agent names share a word stem",
        "editing_task (editor — assigned by rule:",
    ],
    "solo_summary": ["final_summary (summarizer — assigned by rule: the crew's only agent)"],
    "assigned_crew": ["second_pass (reviewer — crew.yaml assign: second_pass: reviewer)"],
    "structured_output": ["people_task (extractor — assigned by rule: the crew's only agent)"],
    "crewai_keys": [
        "crewai_keys/config/agents.yaml:5: agent 'planner': memory is not supported",
        "agents.yaml:8: agent 'planner': knowledge_sources is not supported",
        "agents.yaml:7: agent 'planner': max_tokens is not supported",
        "agents.yaml:10: agent 'planner': step_callback is not supported",
        "tasks.yaml:5: task 'plan_task': callback is not supported",
        "tasks.yaml:12: task 'food_task': converter_cls is not supported",
    ],
    "bare_models": [
        "researcher: model gpt-4o-mini → gpt-4o-mini",
        "writer: model anthropic/claude-3-5-haiku-latest → anthropic/claude-3-5-haiku-latest",
    ],
    "literal_braces": [
        "warning: crew 'literal_braces' does not use input 'first_name'; it is ignored",
        'inputs: {"company": "Acme"}',
    ],
    "hierarchical_manager": ["research_task (the manager assigns it)"],
    "inputs_with_defaults": ['inputs: {"topic": "solar storage", "bullets": 5}'],
    "calculator_crew": ["calculation_task (accountant — assigned by rule: the crew's only agent)"],
    "whole_project": [  # src/whole_project/config/, as `crewai create crew` makes a project
        "1. research_task (researcher)",
        "2. reporting_task (reporting_analyst)",
    ],
    "debate_club": [
        "debate_club/config/tasks.yaml:4: task 'debate_task': output_pydantic is not supported "
        "(honoured on CrewAI processes only, and this crew runs debate",
    ],
}


def _main(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CREWYARD_")},
        "CREWYARD_CREWS_DIR": str(CORPUS),
        "CREWYARD_DATA_DIR": str(tmp_path / "data"),
        "PYTHONDONTWRITEBYTECODE": "1",  # the corpus stays as it is (hooks.py is imported)
        "PYTHONPATH": str(ROOT / "tests" / "netguard"),
    }
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_corpus_is_every_project_and_list_shows_each(tmp_path: Path) -> None:
    projects = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    assert projects == sorted(EXPECTED) and len(projects) >= 10
    assert sum(not (CORPUS / p / "crew.yaml").exists() for p in projects) >= 5  # no crew.yaml
    assert sum((CORPUS / p / "config").is_dir() for p in projects) >= 5  # CrewAI's layout
    listed = _main("--list", tmp_path=tmp_path)
    assert listed.returncode == 0, listed.stderr
    shown = [line.split()[0] for line in listed.stdout.splitlines() if not line.startswith(" ")]
    assert shown == projects
    assert "broken" not in listed.stdout


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_crewai_project_dry_runs_unchanged(name: str, tmp_path: Path) -> None:
    inputs = CORPUS / name / "inputs.json"
    done = _main("--crew", name, "--dry-run", "--inputs-file", str(inputs), tmp_path=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "dry run: no model was called" in done.stdout
    for expected in EXPECTED[name]:
        assert expected in out, f"{expected!r} not in:\n{out}"


def test_output_pydantic_from_hooks_reaches_crewai(settings: Settings, make_crew: Any) -> None:
    """The model class named by output_pydantic is given to CrewAI's Task: CrewAI asks the
    model for its JSON schema and parses the answer into it."""
    folder = make_crew(
        "facts",
        crew={"memory": {"enabled": False}},
        agents={"extractor": {"role": "Extractor", "goal": "Extract facts", "backstory": "Dry."}},
        tasks={
            "facts_task": {
                "description": "Give the founding year and city of {company}.",
                "expected_output": "JSON",
                "output_pydantic": "CompanyFacts",
            }
        },
    )
    (folder / "hooks.py").write_text(
        "from pydantic import BaseModel\n\n\nclass CompanyFacts(BaseModel):\n"
        "    founded_year: int\n    headquarters_city: str\n"
    )
    answer = '{"founded_year": 1999, "headquarters_city": "Oslo"}'
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", [f"Thought: I know it.\nFinal Answer: {answer}"] * 3)
    result = Dispatcher(settings, gateway=gateway).run(
        load_crew("facts", settings.crews_dir), {"company": "Acme", "unused": "x"}
    )
    assert result.status == "done"
    assert "crew 'facts' does not use input 'unused'; it is ignored" in result.notes[0]
    assert json.loads(result.task_outputs[0].output) == json.loads(answer)
    first_prompt = json.dumps(script.calls[0])
    assert "founded_year" in first_prompt and "headquarters_city" in first_prompt
