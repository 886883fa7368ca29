"""Batch items from JSONL, CSV and YAML/JSON lists: typed like --input values, named by their
id or a hash of their inputs, and every problem named with file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crewyard.crews.loader import load_crew
from crewyard.crews.spec import CrewSpec
from crewyard.durable.items import item_id, read_items
from crewyard.errors import InputError
from tests.conftest import TWO_AGENTS, TWO_TASKS, MakeCrew


@pytest.fixture
def spec(make_crew: MakeCrew, crews_dir: Path) -> CrewSpec:
    make_crew(
        "demo",
        crew={"inputs": {"topic": {}, "depth": {"type": "int", "default": 1}}},
        agents=TWO_AGENTS,
        tasks=TWO_TASKS,
    )
    return load_crew("demo", crews_dir)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("b.jsonl", '{"topic": "tides", "depth": 2}\n\n{"id": "m", "topic": "moon"}\n'),
        ("b.csv", "id,topic,depth\n,tides,2\nm,moon,\n"),
        ("b.yaml", "- {topic: tides, depth: 2}\n- {id: m, topic: moon}\n"),
        ("b.json", '[{"topic": "tides", "depth": "2"}, {"id": "m", "topic": "moon"}]'),
    ],
)
def test_every_format_gives_the_same_typed_items(
    spec: CrewSpec, tmp_path: Path, name: str, text: str
) -> None:
    (tmp_path / name).write_text(text)
    items = read_items(tmp_path / name, spec)
    assert [(i.inputs, i.id) for i in items] == [
        ({"topic": "tides", "depth": 2}, item_id({"topic": "tides", "depth": 2})),
        ({"topic": "moon", "depth": 1}, "m"),
    ]


def test_the_same_inputs_are_one_id_everywhere(spec: CrewSpec, tmp_path: Path) -> None:
    assert item_id({"topic": "a", "depth": 1}) == item_id({"depth": 1, "topic": "a"})
    (tmp_path / "b.jsonl").write_text('{"topic": "a"}\n{"topic": "a", "depth": 1}\n')
    with pytest.raises(InputError, match=r"used twice \(lines 1 and 2\)") as info:
        read_items(tmp_path / "b.jsonl", spec)
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("name", "text", "line", "message"),
    [
        ("b.jsonl", '{"topic": "a"}\n{"topc": "b"}\n', 2, "has no input 'topc'"),
        ("b.jsonl", '{"topic": "a"}\nnot json\n', 2, "line 2 is not a JSON object"),
        ("b.jsonl", '{"topic": "a"}\n[1, 2]\n', 2, "is a list, not a mapping"),
        ("b.csv", "topic,depth\na,1\nb,many\n", 3, "input 'depth' must be int"),
        ("b.csv", "topic\na,extra\n", 2, "more cells than the header"),
        ("b.yaml", "- {topic: a}\n- {depth: 2}\n", 2, "needs input 'topic'"),
        ("b.yaml", "topic: a\n", None, "holds a list of items"),
        ("b.jsonl", "\n\n", None, "the batch has no items"),
        ("b.txt", "topic=a\n", None, "cannot tell what b.txt holds"),
    ],
)
def test_a_bad_item_is_named_with_file_and_line(
    spec: CrewSpec, tmp_path: Path, name: str, text: str, line: int | None, message: str
) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(InputError, match=message) as info:
        read_items(tmp_path / name, spec)
    assert info.value.file == str(tmp_path / name) and info.value.line == line
    assert info.value.exit_code == 2


def test_non_utf8_bytes_are_an_input_error(spec: CrewSpec, tmp_path: Path) -> None:
    (tmp_path / "b.jsonl").write_bytes(b'{"topic": "caf\xe9"}\n')
    with pytest.raises(InputError, match="UTF-8"):
        read_items(tmp_path / "b.jsonl", spec)


def test_five_thousand_items_each_get_their_own_id(spec: CrewSpec, tmp_path: Path) -> None:
    lines = [json.dumps({"topic": f"t{n}"}) for n in range(5000)]
    (tmp_path / "b.jsonl").write_text("\n".join(lines))
    items = read_items(tmp_path / "b.jsonl", spec)
    assert len({i.id for i in items}) == 5000 and items[-1].line == 5000
