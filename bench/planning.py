"""The planning processes on the embedded model (SmolLM2-135M):

1. parse success of their structure under the grammar: a plan, an evidence plan, candidate
   thoughts and scores, each asked for N times at temperature 0.7 (one seeded sampler, so
   the N replies differ), counted when the process's own reader accepts it (target: N/N);
2. model calls per task of rewoo vs plan_execute on the same task set (the same agents, the
   same calculator tool, the same questions): target rewoo ≤ 0.6× plan_execute.

    .venv/bin/python bench/planning.py [structure_calls=100] [tasks=5] [kinds]

kinds: a comma-separated subset of plan,evidence_plan,thoughts,scores; tasks=0 skips part 2.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's crewyard

import yaml

import crewyard
from crewyard.dispatcher import RunFailed
from crewyard.engines import planning
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.settings import Settings
from crewyard.tools import formats

MODELS = {
    "aliases": {
        "standard": {"model": "local/smollm2", "temperature": 0.7, "max_tokens": 300},
    },
    "local": {"n_ctx": 4096, "seed": 0},
}
QUESTIONS = [
    "A panel makes 1.5 kWh a day. How many kWh does it make in 365 days?",
    "A bike costs 240 dollars and is paid in 12 equal parts. How much is one part?",
    "A room is 4 m by 5 m. What is its area?",
    "A car uses 6 litres per 100 km. How many litres for 350 km?",
    "A class of 28 splits into teams of 4. How many teams?",
    "Tea costs 3 dollars a cup. What do 17 cups cost?",
]
AGENTS = {
    "planner": {
        "role": "Planner",
        "goal": "Plan the calculations that answer a question",
        "backstory": "You split a question into arithmetic steps.",
        "tools": ["calculator"],
    },
    "solver": {
        "role": "Solver",
        "goal": "Answer the question",
        "backstory": "You answer in one sentence with the number.",
        "tools": ["calculator"],
    },
}
TASKS = {
    "answer": {
        "description": "Answer this question: {question}",
        "expected_output": "One sentence with the number that answers the question.",
    }
}


def _structure(
    gateway: Gateway, calls: int, only: list[str] | None = None
) -> dict[str, tuple[int, float]]:
    tools = {"researcher": ["read_file", "list_files"], "writer": []}
    shapes = [
        ("read_file", {"properties": {"path": {"type": "string"}}, "required": ["path"]}),
        (
            "calculator",
            {"properties": {"expression": {"type": "string"}}, "required": ["expression"]},
        ),
    ]
    kinds: dict[str, tuple[str, dict[str, Any], Any]] = {
        "plan": (
            "Agents: researcher (tools read_file, list_files), writer. Plan how to write a "
            'report on {q}. JSON: {{"steps": [{{"agent": ..., "does": ..., "tools": [...]}}]}}',
            planning.plan_schema(tools, 4),
            lambda t: planning.read_plan(t, tools, 4),
        ),
        "evidence plan": (
            "Tools: read_file, calculator, llm. Plan the evidence for: {q}. Step n's result is "
            '#En. JSON: {{"steps": [{{"plan": ..., "tool": ..., "args": {{...}}}}]}}',
            planning.evidence_schema(shapes, 4),
            lambda t: planning.read_evidence_plan(t, ["read_file", "calculator"], 4),
        ),
        "thoughts": (
            'Propose 3 different next thoughts toward answering: {q}. JSON: {{"thoughts": [...]}}',
            planning.thoughts_schema(3),
            lambda t: planning.read_thoughts(t, 3),
        ),
        "scores": (
            "Score these 3 thoughts about {q} from 1 to 10: use a formula; guess; ask a friend. "
            'JSON: {{"scores": [...]}}',
            planning.scores_schema(3),
            lambda t: planning.read_scores(t, 3),
        ),
    }
    out = {}
    for kind, (prompt, schema, read) in kinds.items():
        if only is not None and kind.replace(" ", "_") not in only:
            continue
        ok, took = 0, []
        for i in range(calls):
            messages = [{"role": "user", "content": prompt.format(q=QUESTIONS[i % len(QUESTIONS)])}]
            started = time.perf_counter()
            reply = gateway.complete(
                "standard", messages, response_format=formats.json_schema(kind, schema)
            )
            took.append(time.perf_counter() - started)
            try:
                read(reply.text)
                ok += 1
            except planning.PlanProblem as exc:
                print(f"  {kind} {i}: {exc}: {reply.text[:120]!r}", file=sys.stderr)
        out[kind] = (ok, statistics.median(took) * 1000)
    return out


def _calls_per_task(root: Path, process: str, tasks: int) -> list[int]:
    crews = root / "crews"
    folder = crews / f"calc_{process}"
    folder.mkdir(parents=True, exist_ok=True)
    crew = {
        "process": process,
        "inputs": {"question": {"type": "str", "required": True}},
        "models": {"default": "standard"},
        "memory": {"enabled": False},
        "engine_options": {
            "max_steps": 3,
            **({"max_replans": 1} if process == "plan_execute" else {}),
        },
    }
    for name, data in (("crew", crew), ("agents", AGENTS), ("tasks", TASKS)):
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))
    settings = Settings(
        data_dir=root / f"data_{process}", crews_dir=crews, models_file=root / "models.yaml"
    )
    calls = []
    for question in QUESTIONS[:tasks]:
        try:
            result = crewyard.run(f"calc_{process}", settings=settings, question=question)
            calls.append(int(result.usage["calls"]))
        except RunFailed as failed:
            calls.append(int(failed.result.usage["calls"]))
            print(f"  {process} failed: {failed}", file=sys.stderr)
    return calls


def main() -> None:
    structure_calls = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    only = sys.argv[3].split(",") if len(sys.argv) > 3 else None  # e.g. evidence_plan,scores
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "models.yaml").write_text(yaml.safe_dump(MODELS))
        gateway = Gateway(ModelTable.load(root / "models.yaml"))
        for kind, (ok, ms) in _structure(gateway, structure_calls, only).items():
            share = ok / structure_calls
            print(f"{kind}: {ok}/{structure_calls} parse ({share:.1%}), {ms:.0f} ms/call")
        if tasks == 0:
            return
        rewoo = _calls_per_task(root, "rewoo", tasks)
        plan_execute = _calls_per_task(root, "plan_execute", tasks)
    ratio = statistics.mean(rewoo) / statistics.mean(plan_execute)
    print(f"model calls per task: rewoo {json.dumps(rewoo)} (mean {statistics.mean(rewoo):.1f})")
    print(
        f"model calls per task: plan_execute {json.dumps(plan_execute)} "
        f"(mean {statistics.mean(plan_execute):.1f})"
    )
    print(f"rewoo / plan_execute: {ratio:.2f}× (target ≤ 0.6×)")


if __name__ == "__main__":
    main()
