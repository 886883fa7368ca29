"""Choosing the next speaker in a group chat, for models too small to do it reliably."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from crewyard.context import RunContext
from crewyard.errors import CrewyardError
from crewyard.runs.events import EventKind
from crewyard.tools import formats


class SpeakerPicker:
    """Next speaker by a model constrained (JSON schema) to valid names; the declared order
    when its answer is unusable. Which of the two happened is recorded on every turn."""

    def __init__(self, ctx: RunContext, names: list[str], task: Callable[[], str | None]):
        self.ctx = ctx
        self.names = names
        self.alias = ctx.spec.models.default
        self.task = task

    async def pick(self, messages: Sequence[Any]) -> str:
        """AutoGen's selector_func: the name of the next speaker."""
        said = [m for m in messages if hasattr(m, "source") and hasattr(m, "to_text")]
        said = [m for m in said if m.source in self.names or m.source == "user"]
        last = said[-1].source if said else None
        in_order = (
            self.names[(self.names.index(last) + 1) % len(self.names)]
            if last in self.names
            else self.names[0]
        )
        candidates = [n for n in self.names if n != last] or self.names
        history = "\n".join(f"{m.source}: {m.to_text()[:500]}" for m in said[-6:])
        schema = {
            "type": "object",
            "required": ["speaker"],
            "properties": {"speaker": {"type": "string", "enum": candidates}},
        }
        prompt = (
            f"Debaters: {', '.join(candidates)}.\n{history}\n\nWho should speak next? "
            'Answer as JSON: {"speaker": "<name>"}'
        )
        fmt = formats.json_schema("next_speaker", schema)
        try:
            reply = await self.ctx.gateway.acomplete(
                self.alias,
                [{"role": "user", "content": prompt}],
                agent="speaker_selector",
                task=self.task(),
                response_format=fmt,
            )
            choice = json.loads(reply.text).get("speaker")
            reason = f"answered {reply.text[:100]!r}"
        except (CrewyardError, ValueError, AttributeError) as exc:
            choice, reason = None, str(exc)[:200]
        method = "model" if choice in candidates else "declared order"
        speaker = choice if choice in candidates else in_order
        self.ctx.events.emit(
            EventKind.SPEAKER_SELECTED,
            task=self.task(),
            speaker=speaker,
            method=method,
            reason=reason,
        )
        return str(speaker)
