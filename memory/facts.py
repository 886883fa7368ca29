"""Facts as typed statements: what a finished task output teaches, each with a kind and the
subject it is about. Taken from the output's bullet points (`learn: bullets`) or asked of a
model under a JSON schema (`learn: model`; a grammar on the embedded model, so its reply
always parses). Pure: no store, no model."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

KINDS = ("claim", "number", "definition", "decision")
MOST_PER_OUTPUT = 10
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+(.{20,300}?)\s*$", re.MULTILINE)
_NUMBER = re.compile(r"\d")
_DEFINITION = re.compile(r"^(.{2,60}?)\s+(?:is an?|are|means|refers to|stands for)\s", re.I)
_DECISION = re.compile(r"\b(?:we (?:will|chose|decided)|decided to|should|must|recommend)\b", re.I)


@dataclass(frozen=True)
class Fact:
    statement: str
    kind: str = "claim"
    subject: str = ""


def kind_of(statement: str) -> str:
    """A statement's kind when no model said it: a decision, a definition, a number or a
    claim (checked in that order: "we chose 3 vendors" is a decision)."""
    if _DECISION.search(statement):
        return "decision"
    if _DEFINITION.match(statement):
        return "definition"
    return "number" if _NUMBER.search(statement) else "claim"


def _subject(statement: str) -> str:
    found = _DEFINITION.match(statement)
    return found.group(1).strip() if found else ""


def from_bullets(output: str) -> list[Fact]:
    """The output's bullet or numbered points, as typed facts (at most MOST_PER_OUTPUT)."""
    found = list(_BULLET.finditer(output.replace("\r", "")))[:MOST_PER_OUTPUT]
    return [Fact(m.group(1), kind_of(m.group(1)), _subject(m.group(1))) for m in found]


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "facts": {
            "type": "array",
            "maxItems": MOST_PER_OUTPUT,
            "items": {
                "type": "object",
                "properties": {
                    "statement": {"type": "string", "minLength": 20, "maxLength": 300},
                    "kind": {"type": "string", "enum": list(KINDS)},
                    "subject": {"type": "string", "maxLength": 60},
                },
                "required": ["statement", "kind", "subject"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["facts"],
    "additionalProperties": False,
}


def extraction_prompt(task: str, output: str) -> str:
    return (
        f"Below is what the task {task!r} produced. List the checkable statements it makes, "
        "each one complete on its own, with its kind (claim, number, definition or decision) "
        "and the subject it is about. Leave out questions, instructions and anything the text "
        'does not say. No statement: {"facts": []}.\n\n' + output[:4000]
    )


class FactsProblem(ValueError):
    """A model's facts reply that does not fit SCHEMA (why, for the run's log)."""


def read(reply: str) -> list[Fact]:
    """The facts in a model's reply under SCHEMA (a ```json fence is allowed around it)."""
    text = reply.strip().removeprefix("```json").removeprefix("```").removesuffix("```")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FactsProblem(f"not JSON ({exc.msg} at character {exc.pos})") from None
    items = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise FactsProblem('no "facts" list')
    facts = []
    for n, item in enumerate(items[:MOST_PER_OUTPUT], 1):
        statement = item.get("statement") if isinstance(item, dict) else None
        if not isinstance(statement, str):
            raise FactsProblem(f"fact {n} has no statement")
        kind = item.get("kind")
        subject = item.get("subject")
        facts.append(
            Fact(
                " ".join(statement.split()),
                kind if kind in KINDS else kind_of(statement),
                subject.strip()[:60] if isinstance(subject, str) else "",
            )
        )
    return facts
