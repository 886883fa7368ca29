"""What may be stored as a fact: a claim in words, not a refusal, a placeholder, a scrap or
a copy of the prompt."""

from __future__ import annotations

import pytest

from memory.quality import fact_problem

TASK = "List facts about home solar batteries. Bullets with one claim each."


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Lithium iron phosphate cells last about 6000 cycles", None),
        ("Home batteries store about 10 kWh, enough for an evening", None),
        ("N/A", "a placeholder, not a claim"),
        ("batteries good", "too short to be a claim"),
        ("1 2 3 4 5 6 7 8 9 10 11 12 13 14 15", "too short to be a claim"),
        ("I'm sorry, but I can't help with solar batteries today", "a refusal"),
        ("As an AI language model I have no opinions on batteries", "a refusal"),
        ("List facts about home solar batteries.", "a copy of the prompt"),
        ("Facts about home solar batteries, listed", "a copy of the prompt"),
        ("word " * 120, "too long for one statement"),
    ],
)
def test_fact_problems(text: str, problem: str | None) -> None:
    assert fact_problem(text, [TASK]) == problem
