"""Whether a statement is worth remembering as a fact: not too short or long, a claim (words,
not placeholders), not a refusal, and not a copy of what the run was told (its task, the
agents' goals) — a small model often hands its prompt back. Pure: no store, no model."""

from __future__ import annotations

import re

MIN_CHARS, MAX_CHARS, MIN_WORDS = 20, 400, 4
_REFUSAL = re.compile(
    r"\b(i (?:am|'m) (?:sorry|unable|not able)|i can(?:no|')t|as an ai|as a language model|"
    r"i do(?: not|n't) have (?:access|information)|unable to (?:help|assist|provide))\b",
    re.IGNORECASE,
)
_PLACEHOLDER = re.compile(r"^(?:n/?a|tbd|todo|none|null|unknown|\.\.\.|…|lorem ipsum.*)$", re.I)
_WORD = re.compile(r"[^\W\d_]{2,}")
COPY_OVERLAP = 0.8  # share of the statement's words found in one sentence of a prompt


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def fact_problem(text: str, prompts: list[str] = []) -> str | None:  # noqa: B006 (read only)
    """Why text should not be stored as a fact, or None when it may be."""
    plain = " ".join(text.split()).strip(" -*•")
    if _PLACEHOLDER.match(plain):
        return "a placeholder, not a claim"
    if len(plain) < MIN_CHARS or len(_words(plain)) < MIN_WORDS:
        return "too short to be a claim"
    if len(plain) > MAX_CHARS:
        return "too long for one statement"
    if _REFUSAL.search(plain):
        return "a refusal"
    words = _words(plain)
    for prompt in prompts:
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", prompt):
            known = set(_words(sentence))
            if known and sum(w in known for w in words) / len(words) >= COPY_OVERLAP:
                return "a copy of the prompt"
    return None
