"""Crew inputs from the CLI and files: conversion, defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewyard.crews.inputs import fill, parse_pairs, read_inputs_file, resolve_inputs
from crewyard.crews.loader import load_crew
from crewyard.crews.yamlfile import MAX_DEPTH
from crewyard.errors import InputError
from tests.conftest import TWO_AGENTS, TWO_TASKS, MakeCrew

INPUTS = {
    "topic": {"type": "str"},
    "count": {"type": "int", "default": 3},
    "ratio": {"type": "float", "required": False},
    "deep": {"type": "bool", "default": False},
    "tags": {"type": "list", "required": False},
}


@pytest.fixture
def spec(make_crew: MakeCrew, crews_dir: Path):  # type: ignore[no-untyped-def]
    make_crew(crew={"inputs": INPUTS}, agents=TWO_AGENTS, tasks=TWO_TASKS)
    return load_crew("demo", crews_dir)


def test_cli_strings_become_typed_values(spec) -> None:  # type: ignore[no-untyped-def]
    given = parse_pairs(["topic=wind = power", "count=7", "deep=yes", "tags=a, b"])
    assert resolve_inputs(spec, given) == {
        "topic": "wind = power",
        "count": 7,
        "deep": True,
        "tags": ["a", "b"],
    }


def test_defaults_apply_and_optional_inputs_may_be_absent(spec) -> None:  # type: ignore[no-untyped-def]
    assert resolve_inputs(spec, {"topic": "x"}) == {"topic": "x", "count": 3, "deep": False}


def test_missing_required_input(spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        resolve_inputs(spec, {})
    assert info.value.key == "topic"
    assert info.value.hint == 'add --input topic="…"'


def test_wrong_type(spec) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match="'count' must be int, got 'many'") as info:
        resolve_inputs(spec, {"topic": "x", "count": "many"})
    assert info.value.hint == "for example --input count=42"


def test_unused_input_is_ignored_with_a_warning(spec) -> None:  # type: ignore[no-untyped-def]
    warned: list[str] = []
    resolved = resolve_inputs(spec, {"topic": "x", "extra": "y"}, warn=warned.append)
    assert "extra" not in resolved and resolved["topic"] == "x"
    assert warned == [
        "crew 'demo' does not use input 'extra'; it is ignored "
        "(its inputs: topic, count, ratio, deep, tags)"
    ]


def test_a_typo_of_a_needed_input_is_named_in_the_hint(spec) -> None:  # type: ignore[no-untyped-def]
    warned: list[str] = []
    with pytest.raises(InputError, match="needs input 'topic'") as info:
        resolve_inputs(spec, {"topc": "x"}, warn=warned.append)
    assert "did you mean 'topic'" in warned[0]
    assert (
        info.value.hint == "add --input topic=\"…\" (the input 'topc' given is not used: a typo?)"
    )


def test_a_null_input_takes_the_default(spec) -> None:  # type: ignore[no-untyped-def]
    assert resolve_inputs(spec, {"topic": "x", "count": None})["count"] == 3


def test_double_braces_are_a_literal_brace_not_a_placeholder() -> None:
    text = 'Write {{topic}} for {topic}; JSON {"a": {"b": 1}} stays'
    assert fill(text, {"topic": "wind"}) == 'Write {topic} for wind; JSON {"a": {"b": 1}} stays'
    # a value holding braces is data: it is not read again
    assert fill("{topic}", {"topic": "{{x}}"}) == "{{x}}"


def test_pair_without_equals_sign() -> None:
    with pytest.raises(InputError, match="is not key=value"):
        parse_pairs(["topic"])


def test_inputs_file_json_and_yaml(tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text('{"topic": "tides", "count": 2}')
    (tmp_path / "in.yaml").write_text("topic: tides\ncount: 2\n")
    assert read_inputs_file(tmp_path / "in.json") == read_inputs_file(tmp_path / "in.yaml")
    (tmp_path / "bad.yaml").write_text("- a list\n")
    with pytest.raises(InputError, match="one mapping"):
        read_inputs_file(tmp_path / "bad.yaml")


def test_fill_leaves_non_placeholder_braces_alone() -> None:
    assert fill('{topic} as {"json": 1} and {unknown}', {"topic": "t"}) == (
        't as {"json": 1} and {unknown}'
    )


def test_defaults_are_given_as_their_declared_type(make_crew: MakeCrew, crews_dir: Path) -> None:
    inputs = {
        "topic": {"type": "str", "default": 5},
        "ratio": {"type": "float", "default": 2},
        "tags": {"type": "list", "default": "a, b"},
        "deep": {"type": "bool", "default": "yes"},
    }
    make_crew(crew={"inputs": inputs}, agents=TWO_AGENTS, tasks=TWO_TASKS)
    resolved = resolve_inputs(load_crew("demo", crews_dir), {})
    assert resolved == {"topic": "5", "ratio": 2.0, "tags": ["a", "b"], "deep": True}
    assert isinstance(resolved["ratio"], float)


def test_inputs_file_is_read_within_the_limits_of_crew_files(tmp_path: Path) -> None:
    path = tmp_path / "in.yaml"
    with path.open("wb") as fh:
        fh.truncate(64 * 1024 * 1024)  # sparse
    with pytest.raises(InputError, match=r"the inputs file is too large: 64\.0 MiB"):
        read_inputs_file(path)
    path.write_bytes(b"topic: caf\xe9\n")
    with pytest.raises(InputError, match="not UTF-8 text: byte 0xe9 at offset 10") as info:
        read_inputs_file(path)
    assert info.value.line == 1 and info.value.hint


BOMB = "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'lol'] * 9)}]\n" for i in range(9)
).encode()


@pytest.mark.parametrize(
    ("suffix", "data", "words"),
    [
        (".json", b'{"topic": "caf\xe9"}', "not UTF-8"),
        (".yaml", bytes(range(256)), "not UTF-8"),
        (".yaml", BOMB, "alias"),
        (".json", b"[" * 50_000, f"more than {MAX_DEPTH} levels"),
        (".json", b'{"topic": 1' + b"0" * 5000 + b"}", "too large"),
        (".json", b'{"topic": NaN}', "finite"),
        (".yaml", b"topic: 1.0e+999\n", "finite"),
        (".json", b'{"topic": "x",\n"count": }', "malformed JSON"),
        (".yaml", b"\xef\xbb\xbftopic: tides\r\nx: [", "malformed YAML"),
    ],
)
def test_a_hostile_inputs_file_is_an_input_error(
    suffix: str, data: bytes, words: str, tmp_path: Path
) -> None:
    path = tmp_path / f"inputs{suffix}"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_inputs_file(path)
    assert words in info.value.message and info.value.file == str(path)


def test_an_inputs_file_with_a_bom_and_crlf_reads(tmp_path: Path) -> None:
    path = tmp_path / "inputs.json"
    path.write_bytes(b'\xef\xbb\xbf{"topic": "tides",\r\n "n": 2}')
    assert read_inputs_file(path) == {"topic": "tides", "n": 2}


def test_an_input_too_long_to_be_a_prompt_is_refused(make_crew: MakeCrew, crews_dir: Path) -> None:
    """A 10 MB input was sent whole: 10.5M prompt tokens, 5.4 GB of memory."""
    make_crew("demo", agents=TWO_AGENTS, tasks=TWO_TASKS)
    spec = load_crew("demo", crews_dir)
    with pytest.raises(InputError, match=r"input 'topic' is 10,485,760 characters long") as info:
        resolve_inputs(spec, {"topic": "x" * 10 * 1024 * 1024})
    assert info.value.key == "topic" and info.value.exit_code == 2
    assert resolve_inputs(spec, {"topic": "x" * 1000})["topic"] == "x" * 1000
