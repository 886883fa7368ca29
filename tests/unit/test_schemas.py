"""`python main.py schema KIND`: one JSON Schema per kind of file, with a root an editor
validates against — every shipped crew file and models.yaml pass, a misspelt key is flagged —
and the `# yaml-language-server: $schema=…` line of shipped and scaffolded crews names a schema
that is there."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from crewyard.cli import main
from crewyard.cli.new import TEMPLATES, scaffold
from crewyard.crews.loader import discover, load_crew

ROOT = Path(__file__).resolve().parents[2]
CREWS = ROOT / "crews"
KINDS = ("crew", "agents", "tasks", "models")


def printed(kind: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    assert main(["schema", kind]) == 0
    schema: dict[str, Any] = json.loads(capsys.readouterr().out)
    return schema


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, Any]]:
    from crewyard.cli.schema import schema_for

    return {kind: schema_for(kind) for kind in KINDS}


def problems(schema: dict[str, Any], data: object) -> list[str]:
    validator = Draft202012Validator(schema)
    return sorted(
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)
    )


def shipped_files() -> list[tuple[str, Path]]:
    files = [("models", ROOT / "models.yaml")]
    for crew in sorted(p for p in CREWS.iterdir() if (p / "crew.yaml").is_file()):
        files += [(kind, crew / f"{kind}.yaml") for kind in ("crew", "agents", "tasks")]
    return files


def test_each_kind_prints_a_schema_with_a_real_root(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in KINDS:
        schema = printed(kind, capsys)
        Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["title"] == f"crewyard {kind}.yaml"
        # the root itself says what a file may hold: an empty schema would validate anything
        assert schema.get("properties") or schema.get("additionalProperties")
        assert problems(schema, {"surely_not_a_key": 1}) != [], kind


def test_every_shipped_crew_file_and_models_yaml_validates(
    schemas: dict[str, dict[str, Any]],
) -> None:
    files = shipped_files()
    crews = {path.parent.name for kind, path in files if kind == "crew"}
    assert crews >= {"research", "debate", "coding", "launch_plan"}
    for kind, path in files:
        assert problems(schemas[kind], yaml.safe_load(path.read_text())) == [], path


@pytest.mark.parametrize(
    ("kind", "data", "expected"),
    [
        ("crew", {"procss": "sequential"}, ": Additional properties are not allowed ('procss'"),
        (
            "agents",
            {"writer": {"rol": "Writer", "goal": "g", "backstory": "b"}},
            "writer: Additional properties are not allowed ('rol'",
        ),
        ("agents", {"writer": {"goal": "g", "backstory": "b"}}, "writer: 'role' is a required"),
        (
            "tasks",
            {"write": {"description": "d", "expected_ouput": "e"}},
            "write: Additional properties are not allowed ('expected_ouput'",
        ),
        (
            "models",
            {"aliases": {"fast": {"model": "local/smollm2"}}, "alias": {}},
            ": Additional properties are not allowed ('alias'",
        ),
        (
            "models",
            {"aliases": {"fast": {"model": "local/smollm2", "temprature": 0}}},
            "aliases.fast: Additional properties are not allowed ('temprature'",
        ),
        ("crew", {"process": "debat"}, "process: 'debat' is not one of"),
    ],
)
def test_a_typo_is_flagged(
    schemas: dict[str, dict[str, Any]], kind: str, data: object, expected: str
) -> None:
    found = problems(schemas[kind], data)
    assert any(p.startswith(expected) for p in found), found


def test_engine_options_are_checked_against_the_process_named(
    schemas: dict[str, dict[str, Any]],
) -> None:
    crew = schemas["crew"]
    assert problems(crew, {"process": "debate", "engine_options": {"rounds": 3}}) == []
    assert problems(crew, {"process": "coding", "engine_options": {"max_rounds": 2}}) == []
    # rounds is a debate option: not one of sequential's (the default process) or coding's
    for data in (
        {"engine_options": {"rounds": 3}},
        {"process": "sequential", "engine_options": {"rounds": 3}},
        {"process": "coding", "engine_options": {"rounds": 3}},
        {"process": "debate", "engine_options": {"rounds": 0}},  # ge=1
    ):
        assert problems(crew, data) != [], data
    # auto: the options of whichever process it chooses
    assert problems(crew, {"process": "auto", "engine_options": {"rounds": 3}}) == []
    assert problems(crew, {"process": "auto", "engine_options": {"roundz": 3}}) != []


def test_an_entry_that_extends_another_needs_no_more_keys(
    schemas: dict[str, dict[str, Any]],
) -> None:
    assert problems(schemas["agents"], {"mine": {"extends": "researcher", "goal": "g"}}) == []
    assert problems(schemas["tasks"], {"mine": {"extends": "summarize"}}) == []


def test_schema_without_a_kind_is_crew_yaml_with_every_definition(
    capsys: pytest.CaptureFixture[str], schemas: dict[str, dict[str, Any]]
) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["properties"] == schemas["crew"]["properties"]
    assert {"CrewFile", "AgentsFile", "TasksFile", "ModelsFile"} <= set(schema["$defs"])
    assert problems(schema, {"procss": "x"}) != []


def test_write_saves_the_four_schemas_as_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "deep" / "schemas"
    assert main(["schema", "--write", str(folder)]) == 0
    listed = capsys.readouterr().out.split()
    assert sorted(Path(p).name for p in listed) == sorted(f"{k}.schema.json" for k in KINDS)
    for kind in KINDS:
        saved = json.loads((folder / f"{kind}.schema.json").read_text())
        assert saved == printed(kind, capsys)


def test_write_with_a_kind_or_onto_a_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", "crew", "--write", str(tmp_path)]) == 2
    assert "--write saves every kind" in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["schema", "--write", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err
    assert "schema folder" in err and "it is a file, not a folder" in err


def modeline_target(path: Path) -> Path:
    first = path.read_text().splitlines()[0]
    prefix = "# yaml-language-server: $schema="
    assert first.startswith(prefix), f"{path}: first line {first!r}"
    return (path.parent / first.removeprefix(prefix)).resolve()


def test_shipped_crews_name_their_schemas_and_the_schemas_are_current(
    schemas: dict[str, dict[str, Any]],
) -> None:
    for kind, path in shipped_files():
        if kind == "models":
            continue
        target = modeline_target(path)
        assert target == (CREWS / ".schemas" / f"{kind}.schema.json").resolve(), path
        on_disk = json.loads(target.read_text())
        assert on_disk == schemas[kind], (
            f"{target} is out of date: python main.py schema --write crews/.schemas"
        )
        assert problems(on_disk, yaml.safe_load(path.read_text())) == [], path
    # the line is a comment to the loader: the crews still load, .schemas is no crew
    assert ".schemas" not in discover(CREWS)
    assert load_crew("research", CREWS).tasks


@pytest.mark.parametrize("process", list(TEMPLATES))
def test_a_scaffolded_crew_names_schemas_that_new_wrote(tmp_path: Path, process: str) -> None:
    crews = tmp_path / "crews"
    folder = scaffold(crews, "fresh", process)
    for kind in ("crew", "agents", "tasks"):
        path = folder / f"{kind}.yaml"
        target = modeline_target(path)
        assert target == (crews / ".schemas" / f"{kind}.schema.json").resolve()
        assert problems(json.loads(target.read_text()), yaml.safe_load(path.read_text())) == []
    assert sorted(p.name for p in folder.iterdir()) == ["agents.yaml", "crew.yaml", "tasks.yaml"]
    assert discover(crews) == ["fresh"]
    assert load_crew("fresh", crews).process == process
