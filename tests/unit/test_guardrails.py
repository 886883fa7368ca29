"""Guardrails without an engine: each check passes and fails with its reason, the LLM judge's
reply is read, attempts are counted and recorded, and bad guardrail config (regexes, schemas,
hooks.py) is a ConfigError at tasks.yaml file:line:key before anything runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crewyard.context import RunContext
from crewyard.crews.loader import load_crew
from crewyard.crews.templates import filled
from crewyard.errors import ConfigError, GuardrailFailed
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.guardrails import Guard, check, feedback, parse_json, read_verdict
from crewyard.runs.events import EventSink
from crewyard.runs.store import RunStore, new_run_id
from crewyard.settings import Settings
from crewyard.tasks.spec import TaskSpec
from tests.conftest import MakeCrew

AGENT = {"a": {"role": "A", "goal": "g", "backstory": "b"}}
HOOKS = """
from pydantic import BaseModel


class Offer(BaseModel):
    name: str
    price: float


def has_title(output):
    return output.startswith("#")


def says_why(output):
    return "" if "ok" in output else "the output never says ok"


def as_tuple(output):
    return ("ok" in output, "no ok in it")


def forgets_to_return(output):
    pass


def crashes(output):
    return 1 / 0
"""
Build = Callable[..., RunContext]


@pytest.fixture
def build(settings: Settings, make_crew: MakeCrew) -> Build:
    """A RunContext for one task 't' with these guardrails (and hooks.py)."""

    def make(guardrails: dict[str, Any], judge: list[str] | None = None, **keys: Any) -> RunContext:
        task = {"description": "Sum up {topic}", "expected_output": "a summary", "agent": "a"}
        folder = make_crew(agents=AGENT, tasks={"t": {**task, "guardrails": guardrails, **keys}})
        (folder / "hooks.py").write_text(HOOKS)
        spec = filled(load_crew("demo", settings.crews_dir), {"topic": "tides"})  # as a run has it
        gateway = Gateway(ModelTable.load(settings.models_file))
        gateway.register_script("main", judge or [])
        store = RunStore(settings.runs_db)
        run_id = new_run_id()
        store.start(run_id, "demo", {}, "crewai", settings.data_dir, None)
        return RunContext(
            run_id=run_id,
            spec=spec,
            inputs={"topic": "tides"},
            settings=settings,
            shared_gateway=gateway,
            store=store,
            events=EventSink(run_id, "demo", store),
            output_dir=settings.data_dir,
        )

    return make


def reasons(ctx: RunContext, output: str) -> list[str]:
    return [str(r) for r in check("t", ctx.spec.tasks["t"], output, ctx)]


SCHEMA = {
    "type": "object",
    "required": ["name", "items"],
    "properties": {
        "name": {"type": "string"},
        "items": {"type": "array", "items": {"type": "number"}},
    },
}


@pytest.mark.parametrize(
    ("guardrails", "good", "bad", "why"),
    [
        (
            {"min_length": 10},
            "long enough",
            "short",
            ["min_length: the output has 5 characters; at least 10 are needed"],
        ),
        (
            {"max_length": 5},
            "short",
            "too long",
            ["max_length: the output has 8 characters; at most 5 are allowed"],
        ),
        (
            {"must_match": ["^# ", "(?m)^- "]},
            "# Title\n- point",
            "Title",
            [
                "must_match: the output does not match the pattern '^# '",
                "must_match: the output does not match the pattern '(?m)^- '",
            ],
        ),
        (
            {"must_not_match": ["(?i)lorem ipsum"]},
            "real text",
            "Lorem Ipsum dolor",
            [
                "must_not_match: the output must not match the pattern '(?i)lorem ipsum' "
                "(found 'Lorem Ipsum')"
            ],
        ),
        (
            {"json_schema": SCHEMA},
            'Here it is:\n```json\n{"name": "x", "items": [1, 2]}\n```',
            '{"name": "x", "items": [1, "two"]}',
            ["json_schema: at $.items[1]: 'two' is not of type 'number'"],
        ),
        (
            {"json_schema": SCHEMA},
            '{"name": "x", "items": []}',
            '{"items": []}',
            ["json_schema: at $: 'name' is a required property"],
        ),
        (
            {"output_model": "Offer"},
            '{"name": "kite", "price": 9.5}',
            '```json\n{"name": "kite", "price": "cheap"}\n```',
            [
                "output_model: at $.price: Input should be a valid number, unable to parse string "
                "as a number"
            ],
        ),
        ({"check": "has_title"}, "# T", "T", ["check: has_title() returned False"]),
        ({"check": "says_why"}, "ok", "nope", ["check: the output never says ok"]),
        ({"check": "as_tuple"}, "ok", "nope", ["check: no ok in it"]),
    ],
)
def test_each_check_passes_good_output_and_says_why_bad_output_fails(
    build: Build, guardrails: dict[str, Any], good: str, bad: str, why: list[str]
) -> None:
    ctx = build(guardrails)
    assert reasons(ctx, good) == []
    assert reasons(ctx, bad) == why


def test_output_that_is_not_json_fails_both_json_checks(build: Build) -> None:
    ctx = build({"json_schema": SCHEMA, "output_model": "Offer"})
    found = reasons(ctx, "name: x")
    assert [r.split(":")[0] for r in found] == ["json_schema", "output_model"]
    assert "the output is not JSON (Expecting value: line 1 column 1" in found[0]
    assert "answer with the JSON alone or in a ```json block" in found[0]


def test_a_check_that_crashes_or_returns_nothing_stops_the_run_at_hooks_py(build: Build) -> None:
    with pytest.raises(ConfigError) as crashed:
        reasons(build({"check": "crashes"}), "x")
    line = HOOKS.splitlines().index("    return 1 / 0") + 1
    assert f"hooks.py:{line}: crashes: the check raised ZeroDivisionError" in str(crashed.value)
    with pytest.raises(ConfigError, match="forgets_to_return: the check returned None"):
        reasons(build({"check": "forgets_to_return"}), "x")


def test_the_judge_is_a_gateway_call_that_sees_task_criteria_and_output(build: Build) -> None:
    ctx = build(
        {"judge": "Mentions {topic}."}, judge=['{"pass": false, "reasons": "tides are missing"}']
    )
    assert reasons(ctx, "About the moon.") == ["judge: tides are missing"]
    (messages,) = ctx.gateway.gateway.scripts["main"].calls
    prompt = messages[-1]["content"]
    assert "Sum up tides" in prompt and "Mentions tides." in prompt
    assert "About the moon." in prompt
    (call,) = ctx.store.model_calls(ctx.run_id)
    assert (call["agent"], call["task"], call["alias"]) == ("guardrail_judge", "t", "standard")


def test_the_judge_is_not_asked_when_a_cheaper_check_already_failed(build: Build) -> None:
    ctx = build({"min_length": 50, "judge": "Is good."})
    assert [r.split(":")[0] for r in reasons(ctx, "tiny")] == ["min_length"]
    assert ctx.gateway.gateway.scripts["main"].calls == []


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"pass": true, "reasons": "fine"}', (True, "fine")),
        (
            '```json\n{"pass": false, "reasons": ["no title", "too short"]}\n```',
            (False, "no title; too short"),
        ),
        ('{"passed": "no", "reason": "vague"}', (False, "vague")),
        (
            'Sure! "pass": false, "reasons": "cut off',
            (False, 'Sure! "pass": false, "reasons": "cut off'),
        ),
        ("FAIL - it never cites a source", (False, "FAIL - it never cites a source")),
        ("Yes.", (True, "Yes.")),
        ("I am not sure what you mean.", (None, "")),
        ('{"pass": 0, "reasons": "hmm"}', (None, "")),  # JSON, but no verdict in it
    ],
)
def test_judge_replies_are_read_robustly(reply: str, verdict: tuple[bool | None, str]) -> None:
    assert read_verdict(reply) == verdict


def test_json_is_found_bare_or_in_a_json_fence_after_other_fences() -> None:
    assert parse_json('[1, {"a": null}]') == (True, [1, {"a": None}])
    text = 'Code:\n```python\nx = 1\n```\nAnd the data:\n```json\n{"a": 1}\n```'
    assert parse_json(text) == (True, {"a": 1})
    assert parse_json("```\n[2]\n```") == (True, [2])
    assert parse_json("no json") == (False, "Expecting value: line 1 column 1 (char 0)")


def test_an_unreadable_verdict_fails_the_check(build: Build) -> None:
    ctx = build({"judge": "Is good."}, judge=["Hmm, interesting."])
    assert reasons(ctx, "x") == ["judge: the judge gave no clear verdict ('Hmm, interesting.')"]


def test_guard_counts_attempts_records_them_and_stops_after_the_retries(build: Build) -> None:
    ctx = build({"must_match": ["^# "]}, max_retries=1)
    guard = Guard.of("t", ctx)
    assert guard is not None and guard.max_retries == 1
    assert guard.review("no title") == [
        ("must_match", "the output does not match the pattern '^# '")
    ]
    with pytest.raises(GuardrailFailed) as info:
        guard.review("x" * 600)
    message = str(info.value)
    assert message.startswith("task 't' failed its guardrails after 2 attempt(s) (max_retries: 1)")
    assert "failed checks: must_match" in message and "  attempt 2: must_match" in message
    events = [(k, d) for k, d in ctx.store.events(ctx.run_id) if k.startswith("guardrail")]
    assert [(k, d["attempt"], d["retries_left"]) for k, d in events] == [
        ("guardrail_failed", 1, 1),
        ("guardrail_failed", 2, 0),
    ]
    assert events[1][1]["output"] == "x" * 500 + "…"
    passing = Guard.of("t", ctx)
    assert passing is not None and passing.review("# ok") == []
    assert ctx.store.events(ctx.run_id)[-1] == (
        "guardrail_passed",
        {"task": "t", "attempt": 1, "checks": ["must_match"]},
    )


def test_feedback_lists_every_reason() -> None:
    text = feedback(["min_length: too short", "judge: vague"])
    assert "- min_length: too short\n- judge: vague" in text
    assert "again" in text


# --- loading ---------------------------------------------------------------------------------

TASK = "t:\n  description: d\n  expected_output: e\n  agent: a\n"


def load_error(make_crew: MakeCrew, crews_dir: Path, tasks: str, hooks: str | None = None) -> str:
    folder = make_crew(agents=AGENT, tasks=tasks)
    if hooks is not None:
        (folder / "hooks.py").write_text(hooks)
    with pytest.raises(ConfigError) as info:
        load_crew("demo", crews_dir)
    return str(info.value)


def test_crewai_guardrail_keys_are_accepted(make_crew: MakeCrew, crews_dir: Path) -> None:
    make_crew(
        agents=AGENT,
        tasks=TASK + "  guardrail: Cites a source.\n  guardrail_max_retries: 4\n"
        "u:\n  description: d\n  expected_output: e\n  agent: a\n"
        "  guardrails: {min_length: 3}\n",
    )
    tasks = load_crew("demo", crews_dir).tasks
    checks = tasks["t"].checks
    assert checks is not None and checks.judge == "Cites a source." and checks.declared == ["judge"]
    assert tasks["t"].retries == 4
    assert tasks["u"].retries == 2  # the default


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("  guardrail: a\n  guardrails: {judge: b}\n", "the judge's criteria are given twice"),
        (
            "  guardrails: {min_length: 1}\n  max_retries: 1\n  guardrail_max_retries: 1\n",
            "retries are given twice: max_retries and guardrail_max_retries",
        ),
        ("  max_retries: 3\n", "max_retries is set but the task has no guardrails to retry"),
        ("  guardrails: {}\n", "guardrails declares no check"),
        ("  guardrails: {judge_model: smart}\n", "guardrails declares no check"),
        ("  guardrails: {min_length: 9, max_length: 3}\n", "min_length 9 > max_length 3"),
        ("  guardrails: {must_match: [ok]}\n  max_retries: -1\n", "greater than or equal to 0"),
        ("  guardrails: {min_len: 3}\n", "unknown key 'min_len'"),
    ],
)
def test_ambiguous_or_empty_guardrails_are_rejected(
    make_crew: MakeCrew, crews_dir: Path, keys: str, message: str
) -> None:
    error = load_error(make_crew, crews_dir, TASK + keys)
    assert "tasks.yaml:" in error and message in error


def test_an_invalid_regex_is_a_config_error_at_its_line(
    make_crew: MakeCrew, crews_dir: Path
) -> None:
    error = load_error(
        make_crew, crews_dir, TASK + "  guardrails:\n    must_match:\n      - ok\n      - 'a('\n"
    )
    assert "tasks.yaml:8: t.guardrails.must_match.1: invalid regex 'a(': missing )" in error


def test_an_invalid_json_schema_is_a_config_error(make_crew: MakeCrew, crews_dir: Path) -> None:
    error = load_error(
        make_crew, crews_dir, TASK + "  guardrails:\n    json_schema: {type: thing}\n"
    )
    assert "tasks.yaml:6: t.guardrails.json_schema: not a valid JSON Schema at type" in error


def test_hooks_problems_point_at_the_task_that_names_them(
    make_crew: MakeCrew, crews_dir: Path
) -> None:
    check = TASK + "  guardrails:\n    check: has_titel\n"
    missing = load_error(make_crew, crews_dir, check)
    assert "tasks.yaml:6: t.guardrails.check: the crew has no " in missing
    assert "fix: create hooks.py beside crew.yaml: def has_titel(output: str)" in missing

    misspelt = load_error(make_crew, crews_dir, check, HOOKS)
    assert "tasks.yaml:6: t.guardrails.check: no function named 'has_titel' in " in misspelt
    assert "fix: did you mean 'has_title'?" in misspelt

    broken = load_error(make_crew, crews_dir, check, "import os\nVALUE = 1 / 0\n")
    assert "tasks.yaml:6: t.guardrails.check: " in broken
    assert "hooks.py:2 raised ZeroDivisionError on import: division by zero" in broken
    assert "fix: fix hooks.py near line 2" in broken

    model = TASK + "  guardrails:\n    output_model: has_title\n"
    not_a_model = load_error(make_crew, crews_dir, model, HOOKS)
    assert "t.guardrails.output_model: 'has_title' in " in not_a_model
    assert "is not a pydantic model" in not_a_model

    arity = load_error(make_crew, crews_dir, check, "def has_titel(a, b):\n    return True\n")
    assert "'has_titel' in " in arity and "must take one argument, the output" in arity


def test_hooks_py_is_imported_only_when_a_task_names_it(
    make_crew: MakeCrew, crews_dir: Path
) -> None:
    folder = make_crew(agents=AGENT, tasks=TASK + "  guardrails: {min_length: 1}\n")
    (folder / "hooks.py").write_text("raise RuntimeError('never imported')\n")
    assert load_crew("demo", crews_dir).tasks["t"].checks is not None


def test_two_crews_hooks_never_clash(make_crew: MakeCrew, crews_dir: Path) -> None:
    from crewyard.crews.hooks import check_function

    for name, answer in (("one", "True"), ("two", "False")):
        folder = make_crew(name, agents=AGENT, tasks=TASK + "  guardrails: {check: ok}\n")
        (folder / "hooks.py").write_text(f"def ok(output):\n    return {answer}\n")
        load_crew(name, crews_dir)
    assert check_function(crews_dir / "one", "ok")("x") is True
    assert check_function(crews_dir / "two", "ok")("x") is False


def test_the_schema_describes_every_guardrail_key() -> None:
    schema = TaskSpec.model_json_schema()
    for key in ("guardrails", "max_retries", "guardrail", "guardrail_max_retries"):
        assert schema["properties"][key]["description"]
    rails = schema["$defs"]["Guardrails"]
    assert rails["additionalProperties"] is False
    assert set(rails["properties"]) == {
        "json_schema",
        "output_model",
        "must_match",
        "must_not_match",
        "min_length",
        "max_length",
        "check",
        "judge",
        "judge_model",
    }
    assert all(p["description"] for p in rails["properties"].values())
