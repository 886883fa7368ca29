"""The command line in-process: listing, dry runs, schema, runs, exit codes, and no heavy
imports on the quick paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from crewyard.cli import main
from crewyard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(settings: Settings, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CREWYARD_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CREWYARD_CREWS_DIR", str(settings.crews_dir))
    monkeypatch.setenv("CREWYARD_MODELS_FILE", str(settings.models_file))
    return settings


def test_list_shows_crews_and_inputs(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert "demo  [sequential]  Two steps" in out
    assert "--input topic=<str>  required  Subject" in out


def test_dry_run_prints_the_plan_without_calling_a_model(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--crew", "demo", "--dry-run", "--input", "topic=tides"]) == 0
    out = capsys.readouterr().out
    assert "engine: crewai (sequential)" in out
    assert "researcher: model standard → scripted/main" in out
    assert "1. research (researcher)" in out and "2. write (writer)" in out
    assert not env.runs_db.exists()  # nothing was run or recorded


def test_dry_run_lists_the_tools_and_the_mcp_servers_it_would_start(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = env.crews_dir / "demo"
    agents = yaml.safe_load((folder / "agents.yaml").read_text())
    agents["researcher"]["tools"] = ["calculator", {"name": "python_run", "args": {"timeout_s": 5}}]
    (folder / "agents.yaml").write_text(yaml.safe_dump(agents))
    crew = yaml.safe_load((folder / "crew.yaml").read_text())
    crew["mcp_servers"] = {
        "files": {"command": "npx", "args": ["-y", "server-fs"], "tools": {"deny": ["write"]}},
        "search": {"url": "http://127.0.0.1:9/mcp", "agent": "writer", "required": False},
    }
    (folder / "crew.yaml").write_text(yaml.safe_dump(crew))

    assert main(["--crew", "demo", "--dry-run", "--input", "topic=tides"]) == 0
    out = capsys.readouterr().out
    assert "agent researcher: calculator, python_run" in out
    assert "files: stdio: npx -y server-fs; never write; for every agent" in out
    assert "search: http http://127.0.0.1:9/mcp; for writer; optional" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--crew", "dmeo"], "did you mean 'demo'?"),
        (["--crew", "demo"], "needs input 'topic'"),
        (["--crew", "demo", "--input", "tpic=y"], "the input 'tpic' given is not used: a typo?"),
        (["--crew", "demo", "--input", "topic"], "is not key=value"),
        (["--crew", "demo", "--input", "topic=x", "--model", "nope"], "is not ALIAS=MODEL"),
        ([], "give --crew NAME"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    env: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_schema_is_json_schema_with_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    crew = schema["$defs"]["CrewFile"]
    assert crew["additionalProperties"] is False
    assert all("description" in f for f in crew["properties"].values())
    entry = schema["$defs"]["AgentsFile"]["additionalProperties"]["$ref"].rsplit("/", 1)[1]
    agent = schema["$defs"][entry]  # role, goal, backstory: required unless it `extends:`
    assert {"role", "goal", "backstory"} <= set(agent["else"]["required"])


def test_schema_validates_the_shipped_files_and_catches_a_typo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from jsonschema import Draft202012Validator

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    Draft202012Validator.check_schema(schema)

    def problems(kind: str, data: object) -> list[str]:
        validator = Draft202012Validator({"$defs": schema["$defs"], **schema["$defs"][kind]})
        return [e.message for e in validator.iter_errors(data)]  # every $ref must resolve

    root = Path(__file__).resolve().parents[2]
    for kind, path in [
        ("CrewFile", "crews/research/crew.yaml"),
        ("AgentsFile", "crews/research/agents.yaml"),
        ("TasksFile", "crews/research/tasks.yaml"),
        ("ModelsFile", "models.yaml"),
    ]:
        assert problems(kind, yaml.safe_load((root / path).read_text())) == [], path
    typo = {"aliases": {"fast": {"model": "local/smollm2", "temprature": 0}}}
    assert problems("ModelsFile", typo) == [
        "Additional properties are not allowed ('temprature' was unexpected)"
    ]


def test_quick_commands_import_no_engine_or_model_library() -> None:
    code = (
        "import sys, crewyard.cli as c\n"
        "codes = [c.main(['--list']), c.main(['schema']),"
        " c.main(['--crew', 'research', '--dry-run', '--input', 'topic=x'])]\n"
        "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('crewai', 'autogen_agentchat', 'litellm', 'llama_cpp',"
        " 'opentelemetry') if m in sys.modules]\n"
        "print(codes, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[0, 0, 0] []"


def test_output_into_a_closed_pipe_stops_quietly(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python main.py --list | head -1`: the reader goes away, the writer stops, no traceback."""
    make_crew(
        "wordy",
        crew={"description": "word " * 40_000},  # more than a pipe holds
        agents={"a": {"role": "r", "goal": "g", "backstory": "b"}},
        tasks={"t": {"description": "d", "expected_output": "e"}},
    )
    env = {**os.environ, "CREWYARD_CREWS_DIR": str(settings.crews_dir)}
    proc = subprocess.Popen(
        [sys.executable, "main.py", "--list"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(10) == "wordy  [se"
    proc.stdout.close()
    errors = proc.stderr.read()
    assert proc.wait(timeout=60) == 141
    assert "Traceback" not in errors and "BrokenPipe" not in errors


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--crew", "demo", "--dry-run", "--budget-tokens", "-5"], "-5 is not above 0"),
        (["--crew", "demo", "--dry-run", "--budget-usd", "0"], "0 is not a number above 0"),
        (["runs", "--limit", "0"], "0 is not above 0"),
    ],
)
def test_numbers_that_must_be_positive_are_checked(
    env: Settings, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_runs_show_takes_its_flags_before_or_after_the_id(
    env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv in (["runs", "show", "--json", "nope"], ["runs", "show", "nope", "--json"]):
        assert main(argv) == 2
        assert "no run 'nope'" in capsys.readouterr().err


def test_schema_help_is_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["schema", "--help"])
    out = capsys.readouterr().out
    assert info.value.code == 0 and out.startswith("usage: python main.py schema")
    assert "$defs" not in out
