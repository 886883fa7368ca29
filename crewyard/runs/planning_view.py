"""What a planning process decided, read back from its events for `runs show`: each task's
plan and its revisions, the steps' results, the evidence, and the scored thoughts."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from crewyard.runs.events import EventKind

SHOWN = 160  # characters of a result or a thought


def _short(text: Any) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= SHOWN else line[: SHOWN - 1] + "…"


def planning_lines(events: Iterable[tuple[str, dict[str, Any]]]) -> list[str]:
    """Lines for people, in the order things happened (empty for other processes)."""
    lines: list[str] = []
    for kind, data in events:
        task = data.get("task")
        if kind == EventKind.PLAN_MADE:
            lines.append(f"plan of {task}:")
            lines += [f"  {step}" for step in data.get("steps", [])]
        elif kind == EventKind.PLAN_REVISED:
            lines.append(
                f"plan of {task} revised ({data.get('revision')}) after step "
                f"{data.get('after_step')}: {_short(data.get('reason'))}"
            )
            lines += [f"  {step}" for step in data.get("steps", [])]
        elif kind == EventKind.STEP_FINISHED:
            how = "done" if data.get("ok") else f"FAILED: {_short(data.get('failure'))}"
            lines.append(f"  step {data.get('step')} ({data.get('agent')}) {how}")
            if data.get("ok"):
                lines.append(f"    → {_short(data.get('result'))}")
        elif kind == EventKind.EVIDENCE:
            args = json.dumps(data.get("args"), ensure_ascii=False)
            failed = " (failed)" if not data.get("ok") else ""
            lines.append(f"  ran {data.get('tool')}[{_short(args)}]{failed}")
            lines.append(f"    {data.get('var')} → {_short(data.get('result'))}")
        elif kind == EventKind.THOUGHTS_SCORED:
            spent = " · budget spent" if data.get("budget_spent") else ""
            lines.append(
                f"thoughts of {task}, level {data.get('depth')} "
                f"({data.get('tokens')} tokens so far{spent}):"
            )
            for c in data.get("candidates", []):
                mark = "kept" if c.get("kept") else "pruned"
                lines.append(f"  [{c.get('score'):g} {mark}] {_short(c.get('thought'))}")
    return lines
