"""The dispatcher's use of shared memory: what agents are told before a run, and what the
run leaves behind (its episode, facts, entities and short-term notes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crewyard.crews.inputs import fill
from crewyard.crews.spec import CrewSpec
from crewyard.memory import Episode, Memory, MemoryItem, facts
from crewyard.memory.quality import fact_problem
from crewyard.redact import logger
from crewyard.runs.result import TaskOutput
from crewyard.tools import ToolSpec, formats, tool

# what a task output teaches: (task, output) → its typed facts
Extract = Callable[[str, str], list[facts.Fact]]


def objective(spec: CrewSpec, inputs: dict[str, Any]) -> str:
    first = next(iter(spec.tasks.values()))
    return fill(f"{spec.description}. {first.description}".strip(" ."), inputs)


def told(spec: CrewSpec, inputs: dict[str, Any]) -> list[str]:
    """What the run's agents were told: a statement repeating it is no fact they learnt."""
    tasks = [f"{t.description}\n{t.expected_output}" for t in spec.tasks.values()]
    agents = [f"{a.role}. {a.goal}\n{a.backstory}" for a in spec.agents.values()]
    return [fill(text, inputs) for text in tasks + agents]


def recall(memory: Memory, spec: CrewSpec, inputs: dict[str, Any]) -> list[MemoryItem]:
    if not spec.memory.enabled or spec.memory.recall == 0:
        return []
    query = objective(spec, inputs)
    found: list[MemoryItem] = []
    for scope in ("facts", "entities", "episodes"):
        found += memory.search(query, scopes=(scope,), k=spec.memory.recall)
    return [m for m in found if (m.score or 0) > 0.2]


def render(items: list[MemoryItem], budget: int) -> str:
    """Recalled memory as a short block for system messages, within budget characters."""
    lines: list[str] = []
    for item in items:
        if item.scope == "episodes":
            p = item.payload
            text = (
                f"an earlier {p.get('crew')} run ({'succeeded' if p.get('success') else 'failed'}):"
                f" {p.get('objective', '')[:150]} → {p.get('outcome', '')[:300]}"
            )
        else:
            text = item.text + _source(item.payload)
        line = "- " + " ".join(text.split())
        if sum(len(x) + 1 for x in lines) + len(line) > budget:
            break
        lines.append(line)
    return ("What earlier runs learned (shared memory):\n" + "\n".join(lines)) if lines else ""


def _source(payload: dict[str, Any]) -> str:
    """Where a recalled fact or entity came from: its crew, run and task."""
    where = [f"{k} {payload[k]}" for k in ("crew", "run_id", "task") if payload.get(k)]
    return f" (from {', '.join(where).replace('run_id', 'run')})" if where else ""


def with_memory(spec: CrewSpec, block: str) -> CrewSpec:
    """The spec for this run: every agent's backstory carries the recalled memory."""
    if not block:
        return spec
    agents = {
        n: a.model_copy(update={"backstory": f"{a.backstory.strip()}\n\n{block}"})
        for n, a in spec.agents.items()
    }
    return spec.model_copy(update={"agents": agents})


def remember(
    memory: Memory,
    spec: CrewSpec,
    inputs: dict[str, Any],
    run_id: str,
    engine: str,
    outputs: list[TaskOutput],
    success: bool,
    ctx: Any = None,
) -> dict[str, int]:
    """Store the run's episode, its facts (typed statements of task outputs that pass the
    quality check, from a run that finished: asked of a model through the run's gateway
    (ctx.gateway) with `learn: model`, else the outputs' bullet points), the entities named
    by its inputs, and each task output as a short-term note. Never fails the run."""
    counts = {"facts": 0, "rejected": 0, "entities": 0, "episodes": 0, "short_term": 0}
    try:
        final = outputs[-1].output if outputs else ""
        memory.add_episode(
            Episode(
                run_id=run_id,
                crew=spec.name,
                engine=engine,
                objective=objective(spec, inputs),
                steps=[o.task for o in outputs],
                outcome=final,
                success=success,
            )
        )
        counts["episodes"] = 1
        prompts = told(spec, inputs)
        extract = None
        if spec.memory.learn == "model" and ctx is not None and success:
            extract = model_extractor(ctx.gateway, spec.learning_model())
        for out in outputs:
            memory.add_short_term(out.output, crew=spec.name, run_id=run_id, task=out.task)
            counts["short_term"] += 1
            if not success:  # a failed run (or one its guardrails stopped) teaches no fact
                continue
            taught = _taught(extract, out)
            for fact in taught:
                if fact_problem(fact.statement, prompts) is not None:
                    counts["rejected"] += 1
                    continue
                memory.add_fact(
                    fact.statement,
                    crew=spec.name,
                    run_id=run_id,
                    task=out.task,
                    kind=fact.kind,
                    subject=fact.subject,
                )
                counts["facts"] += 1
        if not success:  # what its agents saved along the way goes with it
            counts["forgotten"] = memory.forget_where("facts", run_id=run_id)
        for value in inputs.values():
            if isinstance(value, str) and 2 < len(value) <= 80:
                memory.upsert_entity(
                    value,
                    {f"{spec.name} run": run_id, f"{spec.name} said": final[:200]},
                    crew=spec.name,
                    run_id=run_id,
                )
                counts["entities"] += 1
    except Exception as exc:  # memory is a help, never the reason a finished run is lost
        logger.bind(run_id=run_id).warning("memory was not updated: {}", exc)
    return counts


def _taught(extract: Extract | None, out: TaskOutput) -> list[facts.Fact]:
    """The output's facts: extract's when given (a model that fails to give them falls back
    to the bullet points, and the run's log says why), else its bullet points."""
    if extract is None:
        return facts.from_bullets(out.output)
    try:
        return extract(out.task, out.output)
    except Exception as exc:
        logger.warning("facts of task {} taken from its bullet points: {}", out.task, exc)
        return facts.from_bullets(out.output)


def memory_tools(memory: Memory, crew: str, run_id: str) -> list[ToolSpec]:
    """memory_search and memory_save, bound to this run, for agents of either engine."""

    @tool(name="memory_search")
    def memory_search(query: str) -> str:
        """Search the shared memory (facts, entities, earlier runs) for what is known about
        the query. Input: a short query text."""
        items = memory.search(query, scopes=("facts", "entities", "episodes"), k=5)
        return "\n".join(f"- [{i.scope}] {' '.join(i.text.split())[:300]}" for i in items) or (
            "nothing found"
        )

    @tool(name="memory_save")
    def memory_save(fact: str) -> str:
        """Save one plain fact to the shared memory, for later runs and other crews."""
        if problem := fact_problem(fact):
            return f"not saved: {problem}; save one plain statement of what you found"
        return f"saved fact {memory.add_fact(fact, crew=crew, run_id=run_id)}"

    return [memory_search, memory_save]


def model_extractor(gateway: Any, ref: str, tries: int = 3) -> Extract:
    """Facts asked of the model ref (through the run's gateway: recorded, budgeted): under
    facts.SCHEMA where it takes a schema (a grammar on the embedded model), in words
    otherwise; a reply that does not fit is sent back with the reason, up to tries times."""
    takes_schema = bool(gateway.model_info(ref).get("structured_output"))

    def extract(task: str, output: str) -> list[facts.Fact]:
        prompt, fmt = formats.asking(
            facts.extraction_prompt(task, output), "facts", facts.SCHEMA, takes_schema
        )
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        options = {"response_format": fmt} if fmt else {}
        for attempt in range(1, tries + 1):
            reply = gateway.complete(ref, messages, task=task, **options).text
            try:
                return facts.read(reply)
            except facts.FactsProblem as exc:
                if attempt == tries:
                    raise
                messages += formats.sent_back(reply, exc)
        raise AssertionError("unreachable")

    return extract
