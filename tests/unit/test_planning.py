"""The planning processes' pure parts: plan and evidence schemas (valid JSON Schema a grammar
can be made from), reading plans back with reasons, the #En substitution, the beam search's
pruning and budget, and `process: auto` choosing them from a crew's shape."""

from __future__ import annotations

import asyncio
import json

import jsonschema
import pytest

from crewyard.agents.spec import AgentSpec
from crewyard.crews.routing import choose_process
from crewyard.crews.spec import ModelChoice
from crewyard.engines import planning
from crewyard.engines.planning import Level, Path, PlanProblem, PlanStep

AGENTS = {"planner": [], "worker": ["read_file"]}


def test_a_plan_that_fits_its_schema_is_read_back() -> None:
    text = json.dumps({"steps": [{"agent": "worker", "does": "read it", "tools": ["read_file"]}]})
    schema = planning.plan_schema(AGENTS, 3)
    jsonschema.validate(json.loads(text), schema)
    assert planning.read_plan(text, AGENTS, 3) == [PlanStep("worker", "read it", ("read_file",))]
    too_long = {"steps": [{"agent": "worker", "does": "x", "tools": []}] * 4}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(too_long, schema)
    not_its_tool = {"steps": [{"agent": "planner", "does": "x", "tools": ["read_file"]}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(not_its_tool, schema)


@pytest.mark.parametrize(
    ("plan", "reason"),
    [
        ("no json here", 'a JSON object {"steps": [...]}'),
        ({"steps": []}, "one step or more"),
        ({"steps": [{"agent": "ghost", "does": "x", "tools": []}]}, "names agent 'ghost'"),
        ({"steps": [{"agent": "planner", "does": "x", "tools": ["read_file"]}]}, "no tool"),
        ({"steps": [{"agent": "worker", "does": " ", "tools": []}]}, "needs"),
        ({"steps": [{"agent": "worker", "does": "x", "tools": []}] * 3}, "at most 2 remain"),
    ],
)
def test_a_plan_that_does_not_fit_says_why(plan: object, reason: str) -> None:
    text = plan if isinstance(plan, str) else json.dumps(plan)
    with pytest.raises(PlanProblem, match=reason.replace("[", r"\[").replace("]", r"\]")):
        planning.read_plan(text, AGENTS, 3, done=1)


def test_evidence_plans_refer_only_to_earlier_results() -> None:
    shapes = [("read_file", {"properties": {"path": {"type": "string"}}, "required": ["path"]})]
    schema = planning.evidence_schema(shapes, 3)
    good = {
        "steps": [
            {"plan": "read", "tool": "read_file", "args": {"path": "a.md"}},
            {"plan": "explain", "tool": "llm", "args": {"prompt": "explain #E1"}},
        ]
    }
    jsonschema.validate(good, schema)
    steps = planning.read_evidence_plan(json.dumps(good), ["read_file"], 3)
    assert [s.var for s in steps] == ["#E1", "#E2"]
    assert steps[0].line() == '#E1 = read_file[{"path": "a.md"}]'
    bad_tool = {"steps": [{"plan": "p", "tool": "web", "args": {}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_tool, schema)
    with pytest.raises(PlanProblem, match="names tool 'web'"):
        planning.read_evidence_plan(json.dumps(bad_tool), ["read_file"], 3)
    forward = {"steps": [{"plan": "p", "tool": "llm", "args": {"prompt": "#E2"}}]}
    with pytest.raises(PlanProblem, match="uses #E2"):
        planning.read_evidence_plan(json.dumps(forward), ["read_file"], 3)


def test_substitution_reaches_nested_arguments_and_leaves_unknown_vars() -> None:
    evidence = {"#E1": "42", "#E12": "twelve"}
    args = {"a": "x=#E1", "b": ["#E12", 3], "c": {"d": "#E1#E1"}, "e": "#E7"}
    assert planning.substitute(args, evidence) == {
        "a": "x=42",
        "b": ["twelve", 3],
        "c": {"d": "4242"},
        "e": "#E7",
    }


def test_thoughts_and_scores_are_read_under_their_counts() -> None:
    assert planning.read_thoughts('{"thoughts": ["a", "a", "b"]}', 3) == ["a", "b"]
    with pytest.raises(PlanProblem):
        planning.read_thoughts('{"thoughts": []}', 2)
    assert planning.read_scores('{"scores": [3, 10]}', 2) == [3, 10]
    for bad in ('{"scores": [3]}', '{"scores": [0, 4]}', '{"scores": ["x", 4]}'):
        with pytest.raises(PlanProblem):
            planning.read_scores(bad, 2)
    jsonschema.validate({"scores": [1, 10]}, planning.scores_schema(2))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"scores": [11, 1]}, planning.scores_schema(2))


def _search(depth: int, beam: int, budget_calls: int | None) -> tuple[Path, list[Level], int]:
    calls = [0]
    levels: list[Level] = []

    async def propose(path: Path) -> list[str]:
        calls[0] += 1
        return [f"{'.'.join(path.thoughts) or 'root'}>{i}" for i in range(3)]

    async def score(path: Path, thoughts: list[str]) -> list[int]:
        return [int(t[-1]) + 1 for t in thoughts]  # the last candidate always scores best

    def spent() -> bool:
        return budget_calls is not None and calls[0] >= budget_calls

    best = asyncio.run(planning.beam_search(propose, score, depth, beam, spent, levels.append))
    return best, levels, calls[0]


def test_the_search_keeps_the_beam_and_expands_only_kept_paths() -> None:
    best, levels, calls = _search(depth=3, beam=2, budget_calls=None)
    assert calls == 1 + 2 + 2  # root, then the two kept paths at each level
    assert [len(lv.candidates) for lv in levels] == [3, 6, 6]
    assert all(len(lv.kept) == 2 for lv in levels)
    assert best.thoughts == ("root>2", "root>2>2", "root>2.root>2>2>2")
    assert best.score == 3


def test_a_spent_budget_stops_the_search_with_the_best_path_so_far() -> None:
    best, levels, calls = _search(depth=4, beam=2, budget_calls=2)
    assert calls == 2
    assert levels[-1].budget_spent and levels[-1].depth == 2
    assert len(best.thoughts) == 2  # the deepest scored path, not the root


def _agent(role: str) -> AgentSpec:
    return AgentSpec(role=role, goal="g", backstory="b")


@pytest.mark.parametrize(
    ("agents", "options", "process"),
    [
        ({"planner": "Planner", "worker": "Researcher"}, {}, "plan_execute"),
        ({"planner": "Planner", "solver": "Solver"}, {}, "rewoo"),
        ({"thinker": "Thinker", "evaluator": "Evaluator"}, {}, "tree_of_thought"),
        ({"a": "Writer"}, {"beam": 2}, "tree_of_thought"),
        ({"a": "Writer"}, {"max_replans": 1}, "plan_execute"),
        ({"a": "Writer"}, {}, "sequential"),
    ],
)
def test_auto_chooses_a_planning_process_from_the_shape(
    agents: dict[str, str], options: dict[str, object], process: str
) -> None:
    specs = {name: _agent(role) for name, role in agents.items()}
    chosen, reason = choose_process("auto", specs, ModelChoice(), options)
    assert chosen == process
    assert reason.startswith("auto: ")


def test_an_evidence_plans_string_arguments_are_bounded_for_the_grammar() -> None:
    """Unbounded, a small model's argument runs on until max_tokens cuts the plan."""
    shapes = [("calculator", {"properties": {"expression": {"type": "string"}}})]
    schema = planning.evidence_schema(shapes, 3)
    step = schema["properties"]["steps"]["items"]["anyOf"][0]
    assert step["properties"]["args"]["properties"]["expression"]["maxLength"] == 160
    assert step["properties"]["plan"]["maxLength"] == 120


def test_an_evidence_plan_cut_off_inside_a_step_keeps_the_steps_it_wrote_whole() -> None:
    whole = '{"plan": "multiply", "tool": "calculator", "args": {"expression": "1.5 * 365"}}'
    cut = '{"steps": [' + whole + ', {"plan": "check", "tool": "calculator", "args": {"expr'
    (step,) = planning.read_evidence_plan(cut, ["calculator"], 3)
    assert (step.tool, step.args) == ("calculator", {"expression": "1.5 * 365"})
    with pytest.raises(PlanProblem, match="one step or more"):
        planning.read_evidence_plan('{"steps": [{"plan": "multiply", "to', ["calculator"], 3)
