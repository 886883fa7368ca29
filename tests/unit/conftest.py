"""The unit tier runs without the real engines, the real model or Qdrant: a unit test that
imports one of them fails and says where it belongs (`make test` runs this tier on its own
first, so the check sees every import)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

REAL_PARTS = {
    "crewai": "CrewAI",
    "autogen_agentchat": "AutoGen",
    "autogen_core": "AutoGen",
    "llama_cpp": "the embedded model (llama.cpp)",
    "qdrant_client": "Qdrant",
    "wordllama": "the WordLlama embedder",
}


@pytest.fixture(autouse=True)
def stays_a_unit_test() -> Iterator[None]:
    before = set(sys.modules)
    yield
    loaded = sorted({REAL_PARTS[m] for m in REAL_PARTS if m in sys.modules and m not in before})
    assert not loaded, f"this test loaded {', '.join(loaded)}: it belongs in tests/contract"
