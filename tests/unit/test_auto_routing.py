"""`model: auto`: requests sorted into tiers by local rules (or a cheap classifier model) and
routed to the tier's alias, with the choice and the reason on the model-call record; plus the
per-alias rpm/tpm throttle and models.yaml's checks of the routing section."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.errors import ConfigError
from crewyard.gateway import CallRecord, Gateway, complexity
from crewyard.gateway.config import ModelTable
from crewyard.gateway.throttle import Throttle


def ask(text: str) -> list[dict[str, Any]]:
    return [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": text}]


@pytest.mark.parametrize(
    ("text", "tier"),
    [
        ("What is the capital of France?", "simple"),
        ("Translate 'good morning' into Spanish.", "simple"),
        (
            "Write two paragraphs about the history of tidal power in Brittany for a newsletter.",
            "standard",
        ),
        ("Implement a Python function that parses ISO dates, with unit tests.", "complex"),
        (
            "Should we buy sodium-ion storage? Weigh the trade-offs step by step, "
            "analyze costs and risks, and recommend a decision.",
            "reasoning",
        ),
    ],
)
def test_rules_sort_requests_into_tiers(text: str, tier: str) -> None:
    got, reason = complexity.classify(ask(text))
    assert got == tier, reason
    assert reason  # always explainable


def test_rules_read_the_request_not_the_agent_description() -> None:
    messages = [
        {"role": "system", "content": "You implement Python algorithms and debug SQL."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    assert complexity.classify(messages)[0] == "simple"


def scripted_gateway(tmp_path: Path, extra: dict[str, Any] | None = None) -> Gateway:
    aliases = {name: {"model": f"scripted/{name}"} for name in ("fast", "standard", "smart")}
    path = tmp_path / "models.yaml"
    path.write_text(json.dumps({"aliases": aliases, **(extra or {})}))
    gateway = Gateway(ModelTable.load(path, env={}))
    for name in aliases:
        gateway.register_script(name, lambda messages, name=name: f"answered by {name}")
    return gateway


def test_auto_routes_to_the_tier_alias_and_records_why(tmp_path: Path) -> None:
    gateway = scripted_gateway(tmp_path)
    calls: list[CallRecord] = []
    hard = gateway.for_run(on_record=calls.append).complete(
        "auto", ask("Implement a regex parser in Python.")
    )
    easy = gateway.for_run(on_record=calls.append).complete(
        "auto", ask("What is the capital of Peru?")
    )
    assert (hard.text, easy.text) == ("answered by smart", "answered by fast")
    assert [c.alias for c in calls] == ["smart", "fast"]
    assert calls[0].note is not None and calls[0].note.startswith("auto → smart (complex: code")
    assert calls[1].note is not None and "simple" in calls[1].note


def test_model_classifier_decides_and_falls_back_to_rules(tmp_path: Path) -> None:
    routing = {"classifier": "model", "classifier_model": "standard"}
    gateway = scripted_gateway(tmp_path, {"routing": routing})
    verdicts = iter(['{"tier": "reasoning"}', "no idea"])
    gateway.register_script("standard", lambda messages: next(verdicts))
    calls: list[CallRecord] = []
    first = gateway.for_run(on_record=calls.append).complete(
        "auto", ask("What is the capital of Peru?")
    )
    assert first.text == "answered by smart"  # the classifier said reasoning
    assert "classified by standard" in (calls[-1].note or "")
    assert calls[0].agent == "router" and calls[0].alias == "standard"  # its call is recorded
    second = gateway.for_run(on_record=calls.append).complete(
        "auto", ask("What is the capital of Peru?")
    )
    assert second.alias == "fast"  # the classifier gave nothing usable: the rules decide
    assert "classifier gave no tier" in (calls[-1].note or "")


def test_routing_section_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "models.yaml"
    path.write_text("aliases:\n  fast: {model: scripted/a}\nrouting:\n  tiers:\n    simple: fsat\n")
    with pytest.raises(ConfigError) as info:
        ModelTable.load(path, env={})
    text = str(info.value)
    assert "models.yaml:5" in text and "routing.tiers.simple" in text and "'fast'" in text
    path.write_text("aliases:\n  auto: {model: scripted/a}\n")
    with pytest.raises(ConfigError, match="reserved"):
        ModelTable.load(path, env={})


def test_throttle_waits_for_a_free_slot() -> None:
    throttle = Throttle()
    assert throttle.reserve("a", rpm=2, tpm=None, tokens=10) == 0
    assert throttle.reserve("a", rpm=2, tpm=None, tokens=10) == 0
    assert 59 < throttle.reserve("a", rpm=2, tpm=None, tokens=10) <= 60
    assert throttle.reserve("b", rpm=None, tpm=100, tokens=80) == 0
    assert throttle.reserve("b", rpm=None, tpm=100, tokens=30) > 59  # 110 > 100 tokens
    assert throttle.reserve("c", rpm=None, tpm=None, tokens=10**9) == 0  # unlimited
