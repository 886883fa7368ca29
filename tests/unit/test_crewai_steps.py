"""The embedded model's CrewAI steps for a manager: its first step on a task is a delegation
(no final answer offered), each delegation names a coworker not asked yet, and once every
coworker was asked only the final answer is left. Other agents keep the plain step schema;
a model that is not the embedded one gets none."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel

from crewyard.engines.crewai_steps import step_format


class Delegate(BaseModel):
    task: str
    context: str
    coworker: str


class Calc(BaseModel):
    expression: str


WORKERS = [SimpleNamespace(role="Market researcher"), SimpleNamespace(role="Copywriter")]
DELEGATE = SimpleNamespace(name="Delegate work to coworker", args_schema=Delegate, agents=WORKERS)
MANAGER = SimpleNamespace(tools=[DELEGATE])


def ctx(model: str = "local/smollm2") -> Any:
    table = SimpleNamespace(resolve=lambda ref: (ref, SimpleNamespace(model=model)))
    info = {"structured_output": True}
    return SimpleNamespace(
        gateway=SimpleNamespace(model_info=lambda ref: info, gateway=SimpleNamespace(table=table))
    )


def options(fmt: dict[str, Any] | None) -> list[dict[str, Any]]:
    assert fmt is not None
    schema = fmt["json_schema"]["schema"]
    return list(schema.get("anyOf", [schema]))


def delegated_to(coworker: str) -> dict[str, str]:
    args = {"task": "t", "context": "c", "coworker": coworker}
    text = f"Thought: ask\nAction: Delegate work to coworker\nAction Input: {json.dumps(args)}"
    return {"role": "assistant", "content": text + "\nObservation: {done} ok"}


ASKED = [{"role": "system", "content": "s"}, {"role": "user", "content": "plan"}]


def test_a_managers_first_step_delegates_to_a_coworker_that_exists() -> None:
    (only,) = options(step_format(ctx(), "smart", None, MANAGER, ASKED, manages=True))
    coworker = only["properties"]["action_input"]["properties"]["coworker"]
    assert coworker["enum"] == ["Market researcher", "Copywriter"]
    assert "final_answer" not in only["properties"]


def test_a_coworker_asked_once_is_not_offered_again_then_only_the_answer_is_left() -> None:
    once = [*ASKED, delegated_to("Market researcher"), {"role": "user", "content": "go on"}]
    delegation, final = options(step_format(ctx(), "smart", None, MANAGER, once, manages=True))
    assert delegation["properties"]["action_input"]["properties"]["coworker"]["enum"] == [
        "Copywriter"
    ]
    assert "final_answer" in final["properties"]
    both = [*once, delegated_to("copywriter")]
    (only,) = options(step_format(ctx(), "smart", None, MANAGER, both, manages=True))
    assert set(only["properties"]) == {"thought", "final_answer"}


def test_a_worker_keeps_its_tools_and_the_final_answer() -> None:
    calc = SimpleNamespace(name="calculator", args_schema=Calc)
    task = SimpleNamespace(tools=[calc], agent=None)
    call, final = options(step_format(ctx(), "fast", task, None, ASKED, manages=False))
    assert call["properties"]["action"]["enum"] == ["calculator"]
    assert "final_answer" in final["properties"]


def test_a_model_that_is_not_the_embedded_one_gets_no_step_schema() -> None:
    fmt = step_format(ctx("openai/gpt-4o"), "smart", None, MANAGER, ASKED, manages=True)
    assert fmt is None
