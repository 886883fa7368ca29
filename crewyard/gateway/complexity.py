"""Complexity routing for `model: auto`: a request is sorted into simple / standard / complex /
reasoning, and models.yaml's routing.tiers maps each tier to an alias. The heuristic is local
rules over the request's last user message (free, instant, deterministic); the reason lists
the rules that fired, so a routing choice can always be explained."""

from __future__ import annotations

import json
import re
from typing import Any

from crewyard.gateway.config import Tier

TIERS: tuple[Tier, ...] = ("simple", "standard", "complex", "reasoning")

_CODE = re.compile(
    r"```|\b(def|class|function|implement|refactor|debug|compile|stack trace|regex|sql|"
    r"algorithm|unit tests?|api|schema|concurren\w*|python|javascript|typescript|rust)\b",
    re.IGNORECASE,
)
_REASONING = re.compile(
    r"\b(step by step|prove|proof|derive|trade-?offs?|weigh|decide|decision|"
    r"recommend|strategy|strategic|root cause|why does|evaluate|critique|justify|"
    r"pros and cons|should (we|i|a|the))\b",
    re.IGNORECASE,
)
_ANALYSIS = re.compile(
    r"\b(analy[sz]e|analysis|compare|comparison|design|architecture|plan|research|"
    r"investigate|report|assess|optimi[sz]e)\b",
    re.IGNORECASE,
)
_SIMPLE = re.compile(
    r"\b(what is|who is|define|translate|extract|classify|rephrase|spell|yes or no|"
    r"one word|list|name the|summari[sz]e|capital of)\b",
    re.IGNORECASE,
)
_STEPS = re.compile(r"^\s*(\d+[.)]|[-*])\s+", re.MULTILINE)


def request_text(messages: list[dict[str, Any]]) -> str:
    """What the request asks: the last user message (system prompts describe the agent)."""
    for message in reversed(messages):
        if message.get("role") == "user" and message.get("content"):
            return str(message["content"])
    return "\n".join(str(m.get("content") or "") for m in messages)


def classify(messages: list[dict[str, Any]]) -> tuple[Tier, str]:
    """(tier, reason) by local rules."""
    text = request_text(messages)
    words = len(text.split())
    signals: list[str] = []
    score = 0.0
    if code := {m.group(0).lower() for m in _CODE.finditer(text)}:
        score += 2.0
        signals.append("code: " + ", ".join(sorted(code)[:3]))
    if reasoning := {m.group(0).lower() for m in _REASONING.finditer(text)}:
        score += 2.5
        signals.append("reasoning: " + ", ".join(sorted(reasoning)[:3]))
    if analysis := {m.group(0).lower() for m in _ANALYSIS.finditer(text)}:
        score += 1.0
        signals.append("analysis: " + ", ".join(sorted(analysis)[:3]))
    if (steps := len(_STEPS.findall(text))) >= 3:
        score += 1.0
        signals.append(f"{steps} listed steps")
    if text.count("?") >= 3:
        score += 0.5
        signals.append(f"{text.count('?')} questions")
    if words > 600:
        score += 1.0
        signals.append(f"long request ({words} words)")
    elif words < 12 and not code and not reasoning:
        score -= 1.0
        signals.append(f"short request ({words} words)")
    if simple := {m.group(0).lower() for m in _SIMPLE.finditer(text)}:
        score -= 1.0
        signals.append("simple: " + ", ".join(sorted(simple)[:3]))
    if reasoning and score >= 3.0:
        tier: Tier = "reasoning"
    elif score >= 2.0:
        tier = "complex"
    elif score > -1.0:
        tier = "standard"
    else:
        tier = "simple"
    return tier, "; ".join(signals) or "no strong signal"


CLASSIFIER_SCHEMA = {
    "type": "object",
    "properties": {"tier": {"type": "string", "enum": list(TIERS)}},
    "required": ["tier"],
}


def classifier_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The prompt for a model that classifies a request (classifier: model)."""
    return [
        {
            "role": "system",
            "content": "You route requests to language models. Answer with JSON "
            '{"tier": ...}: simple (a lookup, a short rewrite), standard (ordinary writing or '
            "research), complex (code, multi-part technical work), reasoning (a decision, a "
            "proof, careful trade-offs).",
        },
        {"role": "user", "content": request_text(messages)[:4000]},
    ]


def parse_tier(text: str) -> Tier | None:
    """The tier in a classifier's reply, if it gave a valid one."""
    try:
        value = json.loads(text).get("tier")
    except (ValueError, AttributeError):
        match = re.search(r"\b(simple|standard|complex|reasoning)\b", text, re.IGNORECASE)
        value = match.group(1).lower() if match else None
    return value if value in TIERS else None
