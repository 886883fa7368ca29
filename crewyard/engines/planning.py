"""The planning processes' pure parts: the JSON schemas of a plan, an evidence plan, candidate
thoughts and their scores (the local provider decodes them by grammar, so the embedded model's
output always parses), reading them back with reasons a model can act on, the evidence
substitution, and the tree-of-thought beam search. No engine is imported here."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from crewyard.tools.react import args_schema

LLM_STEP = "llm"  # a ReWOO step answered by the solver's model instead of a tool
SCORES = list(range(1, 11))
_VAR = re.compile(r"#E(\d+)")


class PlanProblem(ValueError):
    """A plan that does not fit its schema or refers to what does not exist; the message is
    what the planner reads before it tries again."""


@dataclass(frozen=True)
class PlanStep:
    agent: str
    does: str
    tools: tuple[str, ...] = ()

    def line(self, number: int) -> str:
        using = f" (tools: {', '.join(self.tools)})" if self.tools else ""
        return f"{number}. {self.agent}: {self.does}{using}"


@dataclass(frozen=True)
class EvidenceStep:
    var: str  # "#E1"
    plan: str
    tool: str
    args: dict[str, Any]

    def line(self) -> str:
        return f"{self.var} = {self.tool}[{json.dumps(self.args, ensure_ascii=False)}]"


def _load(text: str) -> Any:
    text = text.strip()
    if text.startswith("```"):  # a fenced answer from a model asked in words
        text = text.strip("`").removeprefix("json").strip()
    start, end = text.find("{"), text.rfind("}")
    try:
        return json.loads(text[start : end + 1], strict=False) if start >= 0 else None
    except json.JSONDecodeError:
        return None


def _list_of(key: str, item: dict[str, Any], least: int, most: int) -> dict[str, Any]:
    """An object whose one key holds a list of least..most items."""
    items = {"type": "array", "items": item, "minItems": least, "maxItems": most}
    return {
        "type": "object",
        "properties": {key: items},
        "required": [key],
        "additionalProperties": False,
    }


def _whole_steps(text: str) -> Any:
    """A plan reply cut off by max_tokens inside a step, as the plan of the steps it wrote
    whole (each is checked as any step is); None when not even one step was finished."""
    text = text.strip()
    if not text.startswith("{") or '"steps"' not in text:
        return None
    for end in range(len(text) - 1, 0, -1):
        if text[end] == "}":
            try:
                return json.loads(text[: end + 1] + "]}", strict=False)
            except json.JSONDecodeError:
                continue
    return None


def _steps(text: str) -> list[Any]:
    """The "steps" list of a plan reply (one cut off by max_tokens keeps its whole steps)."""
    data = _load(text)
    if data is None:
        data = _whole_steps(text)
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list) or not steps:
        raise PlanProblem('the plan must be a JSON object {"steps": [...]} with one step or more')
    return steps


def _text(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit}


def plan_schema(agents: Mapping[str, list[str]], max_steps: int) -> dict[str, Any]:
    """A plan: 1..max_steps steps, each naming one of the agents and some of its own tools."""
    shapes = []
    for agent, tools in agents.items():
        names: dict[str, Any] = {"type": "string", "enum": tools} if tools else {"type": "string"}
        shapes.append(
            {
                "type": "object",
                "properties": {
                    "agent": {"type": "string", "enum": [agent]},
                    "does": _text(300),
                    "tools": {"type": "array", "items": names, "maxItems": min(3, len(tools))},
                },
                "required": ["agent", "does", "tools"],
                "additionalProperties": False,
            }
        )
    return _list_of("steps", {"anyOf": shapes} if len(shapes) > 1 else shapes[0], 1, max_steps)


def read_plan(
    text: str, agents: Mapping[str, list[str]], max_steps: int, done: int = 0
) -> list[PlanStep]:
    """The steps of a plan reply; agents maps each agent to the tools it has. done: steps
    already run, which count against max_steps."""
    steps = _steps(text)
    if done + len(steps) > max_steps:
        raise PlanProblem(f"the plan has {len(steps)} steps; at most {max_steps - done} remain")
    plan = []
    for n, step in enumerate(steps, 1):
        if not isinstance(step, dict) or not str(step.get("does") or "").strip():
            raise PlanProblem(f'step {n} needs "agent", "does" and "tools"')
        agent = str(step.get("agent") or "")
        if agent not in agents:
            raise PlanProblem(f"step {n} names agent {agent!r}; agents: {', '.join(agents)}")
        named = [str(t) for t in step.get("tools") or []]
        if unknown := [t for t in named if t not in agents[agent]]:
            have = ", ".join(agents[agent]) or "none"
            raise PlanProblem(f"step {n}: {agent} has no tool {unknown[0]!r} (its tools: {have})")
        does = re.sub(r"^\s*(step\s*)?\d+[.):]\s*", "", str(step["does"]), flags=re.I).strip()
        plan.append(PlanStep(agent, does or str(step["does"]).strip(), tuple(named)))
    return plan


ARG_CHARS = 160  # a tool argument the grammar lets run on is cut by max_tokens: bound it


def _bounded(schema: dict[str, Any]) -> dict[str, Any]:
    """An arguments schema whose string arguments without a bound get ARG_CHARS at most."""
    props = {
        key: {**value, "maxLength": ARG_CHARS}
        if value.get("type") == "string" and "maxLength" not in value
        else value
        for key, value in schema.get("properties", {}).items()
    }
    return {**schema, "properties": props}


def evidence_schema(tools: list[tuple[str, dict[str, Any]]], max_steps: int) -> dict[str, Any]:
    """A ReWOO plan: 1..max_steps steps, each a tool with arguments of that tool's shape (or
    the `llm` step, a question for the solver's model); #En in an argument is the nth result."""
    shapes = [*tools, (LLM_STEP, {"properties": {"prompt": _text(400)}, "required": ["prompt"]})]
    step_shapes = [
        {
            "type": "object",
            "properties": {
                "plan": _text(120),
                "tool": {"type": "string", "enum": [name]},
                "args": _bounded(args_schema(schema)),
            },
            "required": ["plan", "tool", "args"],
            "additionalProperties": False,
        }
        for name, schema in shapes
    ]
    step = {"anyOf": step_shapes} if len(step_shapes) > 1 else step_shapes[0]
    return _list_of("steps", step, 1, max_steps)


def read_evidence_plan(text: str, tools: list[str], max_steps: int) -> list[EvidenceStep]:
    """The steps of a ReWOO plan reply, each given its variable #E1, #E2, …; a step may use
    only the results of steps before it."""
    steps = _steps(text)
    if len(steps) > max_steps:
        raise PlanProblem(f"the plan has {len(steps)} steps; at most {max_steps} are allowed")
    plan = []
    for n, step in enumerate(steps, 1):
        if not isinstance(step, dict) or not isinstance(step.get("args", {}), dict):
            raise PlanProblem(f'step {n} needs "plan", "tool" and "args" (an object)')
        tool = str(step.get("tool") or "")
        if tool not in (*tools, LLM_STEP):
            raise PlanProblem(f"step {n} names tool {tool!r}; tools: {', '.join(tools)}, llm")
        args = dict(step.get("args") or {})
        for used in _VAR.findall(json.dumps(args)):
            if not 0 < int(used) < n:
                raise PlanProblem(f"step {n} uses #E{used}, which no earlier step gives")
        plan.append(EvidenceStep(f"#E{n}", str(step.get("plan") or "").strip(), tool, args))
    return plan


def substitute(value: Any, evidence: Mapping[str, str]) -> Any:
    """value with every #En in its strings replaced by that step's result."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: evidence.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {k: substitute(v, evidence) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, evidence) for v in value]
    return value


def thoughts_schema(breadth: int) -> dict[str, Any]:
    return _list_of("thoughts", _text(300), breadth, breadth)


def scores_schema(count: int) -> dict[str, Any]:
    return _list_of("scores", {"type": "integer", "enum": SCORES}, count, count)


def read_thoughts(text: str, breadth: int) -> list[str]:
    data = _load(text)
    found = data.get("thoughts") if isinstance(data, dict) else None
    thoughts = [str(t).strip() for t in found or [] if str(t).strip()]
    if not thoughts:
        raise PlanProblem(f'answer {{"thoughts": [...]}} with {breadth} different next thoughts')
    return list(dict.fromkeys(thoughts))[:breadth]  # a repeated thought is one candidate


def read_scores(text: str, count: int) -> list[int]:
    data = _load(text)
    found = data.get("scores") if isinstance(data, dict) else None
    if not isinstance(found, list) or len(found) != count:
        raise PlanProblem(f'answer {{"scores": [...]}} with exactly {count} scores from 1 to 10')
    try:
        scores = [int(s) for s in found]
    except (TypeError, ValueError):
        raise PlanProblem("every score is a whole number from 1 to 10") from None
    if any(s not in SCORES for s in scores):
        raise PlanProblem("every score is a whole number from 1 to 10")
    return scores


@dataclass(frozen=True)
class Path:
    """Thoughts from the root of the search, and the evaluator's score of the last one."""

    thoughts: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class Level:
    """One level of the search: every candidate scored, which were kept, whether the budget
    stopped it before every path was expanded."""

    depth: int
    candidates: list[Path]
    kept: list[Path]
    budget_spent: bool = False


Propose = Callable[[Path], Awaitable[list[str]]]
Score = Callable[[Path, list[str]], Awaitable[list[int]]]


async def beam_search(
    propose: Propose,
    score: Score,
    depth: int,
    beam: int,
    spent: Callable[[], bool],
    on_level: Callable[[Level], None],
) -> Path:
    """Breadth-limited search: each kept path gets candidate next thoughts, each is scored,
    the best `beam` paths go on (ties: the earlier one). Once spent() no path is expanded and
    the best path so far is the answer's."""
    frontier = [Path()]
    for level in range(1, depth + 1):
        candidates: list[Path] = []
        stopped = False
        for path in frontier:
            if spent():
                stopped = True
                break
            thoughts = await propose(path)
            for thought, points in zip(thoughts, await score(path, thoughts), strict=True):
                candidates.append(Path((*path.thoughts, thought), float(points)))
        ranked = sorted(candidates, key=lambda p: -p.score)  # stable: ties keep their order
        kept = ranked[:beam]
        on_level(Level(level, candidates, kept, stopped))
        if not kept or stopped:
            frontier = (kept + frontier)[:beam] if kept else frontier
            break
        frontier = kept
    return max(frontier, key=lambda p: (len(p.thoughts), p.score))
