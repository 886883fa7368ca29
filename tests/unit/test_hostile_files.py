"""Hostile crew names and files: a crew name is a name, files are read within limits, and every
bad byte, bomb, deep nesting, huge value or wrong type is one ConfigError (exit 2), never a
traceback or a hang."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

import crewyard.crews
from crewyard.agents import LIBRARY_DIR as AGENT_LIBRARY
from crewyard.cli import main
from crewyard.crews import loader
from crewyard.crews.inputs import read_inputs_file
from crewyard.crews.loader import discover, load_crew
from crewyard.crews.yamlfile import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, read_yaml
from crewyard.errors import ConfigError, InputError
from crewyard.settings import Settings
from tests.conftest import MakeCrew, cli_uses

AGENTS = "a:\n  role: R\n  goal: G\n  backstory: B\n"
TASKS = "t:\n  description: D {topic}\n  expected_output: E\n  agent: a\n"
BOMB = "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9) if i else ', '.join(['lol'] * 9)}]\n"
    for i in range(9)
)


def error_of(crews_dir: Path, name: str = "demo") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_crew(name, crews_dir)
    return info.value


def crew_with(make_crew: MakeCrew, **files: str | bytes) -> Path:
    """crews_dir/demo with a working crew, then the given files' text or bytes."""
    folder = make_crew(agents=AGENTS, tasks=TASKS)
    for name, content in files.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / f"{name}.yaml").write_bytes(data)
    return folder


def dry_run(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
) -> tuple[int, str]:
    cli_uses(settings, monkeypatch)
    args = list(argv) or ["--crew", "demo"]
    code = main([*args, "--dry-run", "--input", "topic=x"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


# -- item 5: crew names are names --------------------------------------------------------------


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A crew outside the crews folder whose hooks.py leaves a mark when imported."""
    folder = tmp_path / "outside" / "evil"
    folder.mkdir(parents=True)
    (folder / "crew.yaml").write_text("description: evil\n")
    (folder / "agents.yaml").write_text(AGENTS)
    (folder / "tasks.yaml").write_text(TASKS + "  guardrails: {check: ok}\n")
    mark = tmp_path / "imported"
    (folder / "hooks.py").write_text(f"open({str(mark)!r}, 'w').close()\ndef ok(o): return True\n")
    return folder


@pytest.mark.parametrize(
    "name",
    ["../outside/evil", "ABSOLUTE", "evil/", "a/b", "a\\b", "..", ".", "", " ", ".hidden", "a\0b"],
)
def test_a_crew_name_that_is_a_path_is_refused_before_any_file_is_read(
    name: str,
    outside: Path,
    crews_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = str(outside) if name == "ABSOLUTE" else name
    read: list[Path] = []
    real = loader.read_yaml
    monkeypatch.setattr(loader, "read_yaml", lambda p: read.append(p) or real(p))
    for load in (load_crew, crewyard.crews.load_crew):  # the CLI's and the notebook's path
        with pytest.raises(ConfigError) as info:
            load(name, crews_dir)
        assert "not a plain crew name" in info.value.message and info.value.hint
    assert read == [] and not (tmp_path / "imported").exists()


def test_the_cli_refuses_a_path_as_crew_and_suggests_the_crew_it_names(
    settings: Settings,
    two_step_crew: Path,
    outside: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, err = dry_run(settings, monkeypatch, capsys, "--crew", "../outside/evil")
    assert code == 2 and err.startswith("error: ") and "not a plain crew name" in err
    assert not (tmp_path / "imported").exists()
    code, err = dry_run(settings, monkeypatch, capsys, "--crew", "crews/demo")
    assert code == 2 and "did you mean 'demo'?" in err


def test_a_symlinked_crew_folder_loads_from_wherever_it_points(
    outside: Path, crews_dir: Path, tmp_path: Path
) -> None:
    """Decision: the crews folder's owner may link a crew in from elsewhere; only names that
    are paths are refused."""
    (crews_dir / "linked").symlink_to(outside, target_is_directory=True)
    assert load_crew("linked", crews_dir).description == "evil"
    assert (tmp_path / "imported").exists()  # its hooks.py is the crew's own


def test_discover_lists_only_crews_that_can_be_named(make_crew: MakeCrew, crews_dir: Path) -> None:
    make_crew("demo")
    make_crew(".hidden")
    assert discover(crews_dir) == ["demo"]


def test_a_library_reference_that_is_a_path_is_refused(
    make_crew: MakeCrew, crews_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "stolen.yaml").write_text("role: r\ngoal: g\nbackstory: b\n")
    stolen = os.path.relpath(tmp_path / "stolen", AGENT_LIBRARY)
    make_crew(crew={"agents": [stolen]}, tasks=TASKS)
    err = error_of(crews_dir)
    assert "not a name" in err.message and err.line == 2 and err.key == "agents.0"


# -- item 7: limits on size, aliases and depth -------------------------------------------------


@pytest.mark.parametrize("command", ["--dry-run", "--list"])
def test_an_alias_bomb_is_refused_at_once(
    command: str,
    make_crew: MakeCrew,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    crew_with(make_crew, crew=BOMB)
    cli_uses(settings, monkeypatch)
    started = time.monotonic()
    argv = ["--crew", "demo", "--dry-run", "--input", "topic=x"] if command == "--dry-run" else []
    code = main(argv or ["--list"])
    assert time.monotonic() - started < 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    text = err if command == "--dry-run" else out
    assert f"more than {MAX_VALUES} values" in text and "alias" in text
    assert code == (2 if command == "--dry-run" else 0)


@pytest.mark.parametrize(
    ("text", "line"),
    [("[" * 50_000, 1), ("a:\n" + "  - " * 3 + "[" * 20_000, 2), ("{a: " * 50_000, 1)],
)
def test_deep_nesting_is_a_config_error_not_a_recursion_error(
    text: str, line: int, make_crew: MakeCrew, crews_dir: Path
) -> None:
    crew_with(make_crew, agents=text)
    err = error_of(crews_dir)
    assert f"nested more than {MAX_DEPTH} levels" in err.message and err.line == line
    assert err.hint


def test_an_alias_that_contains_itself_is_a_config_error(
    make_crew: MakeCrew, crews_dir: Path
) -> None:
    crew_with(make_crew, crew="engine_options: &a {x: *a}\n")
    err = error_of(crews_dir)
    assert "contains itself" in err.message and err.line == 1


def test_a_huge_file_is_refused_by_its_size_before_it_is_read(
    make_crew: MakeCrew, crews_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = crew_with(make_crew)
    with (folder / "tasks.yaml").open("wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB that cost no disk
    monkeypatch.setattr(Path, "read_text", lambda *a, **k: pytest.fail("read"))
    started = time.monotonic()
    err = error_of(crews_dir)
    assert time.monotonic() - started < 1
    assert err.file == str(folder / "tasks.yaml")
    assert "50.0 MiB" in err.message and str(MAX_FILE_BYTES) in err.message and err.hint


def test_models_yaml_gets_the_same_limits(
    settings: Settings,
    two_step_crew: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings.models_file.write_text(BOMB)
    code, err = dry_run(settings, monkeypatch, capsys)
    assert code == 2 and "models.yaml" in err and "alias" in err
    settings.models_file.write_bytes(bytes(range(256)) * 4)
    code, err = dry_run(settings, monkeypatch, capsys)
    assert code == 2 and "models.yaml:3: not UTF-8 text: byte 0x80" in err  # \n, \r before


def test_merge_keys_work_and_explicit_keys_win(make_crew: MakeCrew, crews_dir: Path) -> None:
    agents = "_base: &base {role: R, goal: G, backstory: B, max_iter: 3}\n"
    agents += "a:\n  <<: *base\n  max_iter: 5\n"
    crew_with(make_crew, crew="agents: [a]\n", agents=agents)
    assert load_crew("demo", crews_dir).agents["a"].max_iter == 5


# -- item 8: bytes that are not UTF-8 text -----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (b"description: caf\xe9\n", 1, "byte 0xe9"),
        (b"description: x\n\n" + b"name: \xff\xfe\x00\x01", 3, "byte 0xff at offset 22"),
        (b"\xef\xbb\xbfdescription: x\r\nname: \xff\n", 2, "byte 0xff at offset 25"),
        ("description: x\n".encode("utf-16"), None, "UTF-16"),
        (b"description: a\x00b\n", 1, "U+0000"),
        (b"description: x\r\nname: \x07\n", 2, "U+0007"),
    ],
)
def test_bytes_that_are_not_utf8_text_name_file_line_and_fix(
    data: bytes,
    line: int | None,
    words: str,
    make_crew: MakeCrew,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = crew_with(make_crew, crew=data)
    code, err = dry_run(settings, monkeypatch, capsys)
    where = f"{folder / 'crew.yaml'}" + (f":{line}:" if line else ":")
    assert code == 2 and err.startswith(f"error: {where}") and words in err
    assert "fix: " in err and "UTF-8" in err


# -- huge values and wrong types ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("agents", "words"),
    [
        (AGENTS + "  max_iter: " + "1" * 101 + "\n", "too large"),
        (AGENTS + "  max_iter: " + "9" * 5000 + "\n", "too large"),
        (AGENTS + "  max_iter: 1.0e+400\n", "finite"),
        (AGENTS + "  max_iter: 1e400\n", "integer"),
        (AGENTS + "  max_iter: 100000000000000000000\n", "too large"),
        (AGENTS + "  max_iter: " + "1:" * 20_000 + "1\n", "too large"),
        (AGENTS + "  llm: !!binary aGVsbG8=\n", "tag"),
        (AGENTS + "  llm: !!python/object:os.system x\n", "tag"),
        (AGENTS + "  max_iter: !!int nope\n", "cannot read"),
        (AGENTS + "  verbose: !!bool maybe\n", "cannot read"),
        (AGENTS + "  max_iter: 2024-99-99\n", "valid integer"),
        (AGENTS + "  llm: !custom {a: 1}\n", "tag"),
        ("? {[a]: 1}\n: x\n", "plain names"),
        ("? [a, b]\n: x\n", "plain names"),
        ("~: x\n", "plain names"),
        ("- a\n- b\n", "mapping"),
        ("a: [R, G, B]\n", "mapping"),
        ("a: {role: ~, goal: ~, backstory: ~}\n", "valid string"),
        ("a:\n\trole: R\n", "malformed YAML"),
        ("a: {<<: [x]}\n", "<<"),
        (AGENTS + "  extends: [x]\n", "extends"),
    ],
)
def test_huge_values_and_wrong_types_are_config_errors(
    agents: str, words: str, make_crew: MakeCrew, crews_dir: Path
) -> None:
    folder = crew_with(make_crew, agents=agents)
    started = time.monotonic()
    err = error_of(crews_dir)
    assert time.monotonic() - started < 2
    assert words in err.message and err.file == str(folder / "agents.yaml") and err.line


@pytest.mark.parametrize("value", ["1e400", "'1e999'", "inf", "Infinity"])
def test_a_number_written_as_text_that_pydantic_reads_as_infinite_is_refused(
    value: str,
    make_crew: MakeCrew,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """YAML reads 1e400 as text; pydantic then reads the text as a float: inf."""
    crew_with(make_crew, crew=f"budget:\n  max_cost_usd: {value}\n")
    err = error_of(settings.crews_dir)
    assert "not a finite number" in err.message and err.key == "budget.max_cost_usd"
    crew_with(make_crew)
    models = "aliases:\n  standard:\n    model: scripted/main\n    timeout: " + value
    settings.models_file.write_text(models + "\n")
    code, err_text = dry_run(settings, monkeypatch, capsys)
    assert code == 2 and "models.yaml:4: aliases.standard.timeout: " in err_text


def test_a_ten_megabyte_string_is_refused_by_size(make_crew: MakeCrew, crews_dir: Path) -> None:
    crew_with(make_crew, tasks=TASKS.replace("E\n", "x" * 10_000_000 + "\n"))
    assert f"the limit is {MAX_FILE_BYTES} bytes" in error_of(crews_dir).message


@pytest.mark.parametrize(
    ("guardrails", "words"),
    [
        ("{json_schema: {$schema: [1]}}", "unhashable"),
        ("{must_match: ['a{99999999999}']}", "repetition number is too large"),
    ],
)
def test_a_guardrail_that_breaks_its_checker_is_a_config_error(
    guardrails: str, words: str, make_crew: MakeCrew, crews_dir: Path
) -> None:
    folder = crew_with(make_crew, tasks=TASKS + f"  guardrails: {guardrails}\n")
    err = error_of(crews_dir)
    assert words in err.message and (err.key or "").startswith("t.guardrails.")
    assert err.file == str(folder / "tasks.yaml")


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"topic": {"type": "int", "default": "abc"}}, "must be int"),
        ({"topic": {"type": "str", "default": [1]}}, "must be str"),
        ({"topic": {"type": "list", "default": {"a": 1}}}, "must be list"),
    ],
)
def test_an_input_default_of_the_wrong_type_is_refused_at_load(
    inputs: dict[str, Any], words: str, make_crew: MakeCrew, crews_dir: Path
) -> None:
    make_crew(crew={"inputs": inputs}, agents=AGENTS, tasks=TASKS)
    err = error_of(crews_dir)
    assert words in err.message and err.key == "inputs.topic.default" and err.line == 4


def test_a_date_default_stays_text_and_the_plan_prints(
    make_crew: MakeCrew,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    crew = "inputs:\n  topic: {type: str}\n  when: {type: str, default: 2024-01-01}\n"
    crew_with(make_crew, crew=crew)
    cli_uses(settings, monkeypatch)
    assert main(["--crew", "demo", "--dry-run", "--input", "topic=x"]) == 0
    assert '"when": "2024-01-01"' in capsys.readouterr().out


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n", "mixed"])
def test_a_bom_and_any_line_endings_read_with_the_right_lines(
    newline: str, make_crew: MakeCrew, crews_dir: Path
) -> None:
    lines = ["name: demo", "description: x", "", "verbose: maybe_not"]
    ends = ["\r\n", "\n", "\r", "\n"] if newline == "mixed" else [newline] * 4
    text = "\ufeff" + "".join(line + end for line, end in zip(lines, ends, strict=True))
    crew_with(make_crew, crew=text)
    err = error_of(crews_dir)
    assert err.line == 4 and err.key == "verbose"
    crew_with(make_crew, crew=text.replace("verbose: maybe_not", "verbose: true"))
    assert load_crew("demo", crews_dir).verbose is True


def test_read_yaml_returns_only_json_values(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 2024-01-01\nb: !!set {x, y}\nc: [1, 2.5, true, ~]\n1: one\n")
    data = read_yaml(path).data
    assert data == {
        "a": "2024-01-01",
        "b": {"x": None, "y": None},
        "c": [1, 2.5, True, None],
        "1": "one",
    }
    json.dumps(data)


def test_a_crew_file_that_is_not_a_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a regular file"):
        read_yaml(tmp_path)
    with pytest.raises(InputError, match="not a regular file"):
        read_inputs_file(tmp_path)
