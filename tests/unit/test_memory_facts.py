"""Facts as typed statements: the kind and subject of a bullet point when no model said them,
and a model's facts reply read under the schema (a reply that does not fit says why)."""

from __future__ import annotations

import json

import pytest

from crewyard.memory import facts


@pytest.mark.parametrize(
    ("statement", "kind", "subject"),
    [
        ("A sodium-ion cell is a battery that uses sodium ions", "definition", "A sodium-ion cell"),
        ("Home batteries store about 13.5 kWh of energy each", "number", ""),
        ("We chose 3 vendors for the pilot after the review", "decision", ""),
        ("Tidal range peaks at spring tides around new moons", "claim", ""),
    ],
)
def test_a_bullet_point_gets_a_kind_and_subject(statement: str, kind: str, subject: str) -> None:
    (fact,) = facts.from_bullets(f"Notes:\n- {statement}\n")
    assert (fact.statement, fact.kind, fact.subject) == (statement, kind, subject)


def test_only_bullet_and_numbered_points_count_and_at_most_ten() -> None:
    text = "A prose line that is long enough to be a fact.\n" + "\n".join(
        f"{n}. Point number {n} about the subject at hand" for n in range(1, 15)
    )
    taken = facts.from_bullets(text)
    assert len(taken) == facts.MOST_PER_OUTPUT
    assert taken[0].statement == "Point number 1 about the subject at hand"


def test_a_model_reply_under_the_schema_is_read_with_its_kinds() -> None:
    reply = json.dumps(
        {
            "facts": [
                {
                    "statement": "Solar  panels\nlast 25 years",
                    "kind": "number",
                    "subject": " panels",
                },
                {"statement": "Batteries smooth evening peaks", "kind": "odd", "subject": 7},
            ]
        }
    )
    first, second = facts.read(f"```json\n{reply}\n```")
    assert first == facts.Fact("Solar panels last 25 years", "number", "panels")
    assert second == facts.Fact("Batteries smooth evening peaks", "claim", "")


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("the facts are: none", "not JSON"),
        ('{"statements": []}', 'no "facts" list'),
        ('{"facts": [{"kind": "claim"}]}', "fact 1 has no statement"),
    ],
)
def test_a_reply_that_does_not_fit_says_why(reply: str, why: str) -> None:
    with pytest.raises(facts.FactsProblem, match=why):
        facts.read(reply)


def test_the_schema_allows_only_the_known_kinds() -> None:
    item = facts.SCHEMA["properties"]["facts"]["items"]
    assert item["properties"]["kind"]["enum"] == list(facts.KINDS)
    assert set(item["required"]) == {"statement", "kind", "subject"}
