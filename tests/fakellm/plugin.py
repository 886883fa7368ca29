"""The `fakellm` pytest fixture: a started FakeLLM that fails the test if used loosely."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakellm.server import FakeLLM


def strictness_problems(fake: FakeLLM) -> list[str]:
    """Violations seen, plus replies left unused unless the test allowed it."""
    problems = list(fake.violations)
    if fake.unused and not fake.unused_allowed:
        problems.append(f"{fake.unused} scripted repl{'y' if fake.unused == 1 else 'ies'} unused")
    return problems


@pytest.fixture
def fakellm() -> Iterator[FakeLLM]:
    fake = FakeLLM().start()
    try:
        yield fake
    finally:
        fake.stop()
    problems = strictness_problems(fake)
    if problems:
        pytest.fail("fakellm: " + "; ".join(problems))
