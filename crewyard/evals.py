"""Evaluating a crew (what `crewai test` does, made checkable): a cases file names inputs and
the checks an output must pass — the same checks as a task's guardrails (patterns, lengths,
a JSON schema, a hooks.py function, an LLM judge on a named alias) — and each case is run N
times; what comes back is each case's pass rate, tokens and cost. The checks only observe:
a run is the crew's own, its guardrails and retries as declared."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from crewyard.crews.spec import CrewSpec
from crewyard.crews.yamlfile import read_yaml, validate
from crewyard.errors import ConfigError, did_you_mean
from crewyard.guardrails import check_output
from crewyard.tasks.spec import Guardrails

if TYPE_CHECKING:
    from collections.abc import Callable

    from crewyard.dispatcher import Dispatcher
    from crewyard.runs.result import RunResult


class EvalCase(BaseModel):
    """One case: the crew's inputs, and what its output must be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="The case's name in the report.")
    inputs: dict[str, Any] = Field(default_factory=dict, description="The crew's inputs.")
    task: str | None = Field(
        default=None, description="The task whose output is checked; default: the final one."
    )
    checks: Guardrails = Field(description="What the output must pass (guardrail keys).")
    runs: int | None = Field(default=None, ge=1, le=100, description="Runs of this case.")


class EvalFile(BaseModel):
    """cases.yaml: the cases, how many runs each, and the pass rate to reach."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cases: tuple[EvalCase, ...] = Field(min_length=1, description="The cases, in order.")
    runs: int = Field(default=1, ge=1, le=100, description="Runs of each case.")
    threshold: float = Field(
        default=1.0, ge=0, le=1, description="Pass rate over every run below which eval fails."
    )

    @model_validator(mode="after")
    def _names_differ(self) -> EvalFile:
        names = [c.name for c in self.cases]
        if len(set(names)) < len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"two cases are named {twice!r}")
        return self


def load_cases(path: Path, spec: CrewSpec) -> EvalFile:
    """The cases file, checked against the crew (each `task` one of its tasks)."""
    if not path.is_file():
        raise ConfigError(f"no cases file {path}", key="--cases", hint="see README: Evaluating")
    doc = read_yaml(path)
    cases = validate(EvalFile, doc.data, doc)
    for i, case in enumerate(cases.cases):
        if case.task is not None and case.task not in spec.tasks:
            raise doc.error(
                f"crew {spec.name!r} has no task {case.task!r}",
                ("cases", i, "task"),
                did_you_mean(case.task, list(spec.tasks)) or f"tasks: {', '.join(spec.tasks)}",
            )
    return cases


@dataclass
class CaseResult:
    name: str
    runs: int = 0
    passed: int = 0
    tokens: int = 0
    cost_usd: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (run id, why)

    @property
    def rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0


def evaluate(
    dispatcher: Dispatcher,
    spec: CrewSpec,
    cases: EvalFile,
    runs: int | None = None,
    said: Callable[[str], None] = lambda _: None,
) -> list[CaseResult]:
    """Run every case its number of times and check each output; said(line) after each run."""
    from crewyard.dispatcher import RunFailed

    results = []
    for case in cases.cases:
        outcome = CaseResult(case.name)
        for _ in range(runs or case.runs or cases.runs):
            judged = (0, 0.0)  # the judge's tokens and cost, when a judge check ran
            try:
                result = dispatcher.run(spec, case.inputs)
                why, judged = _problems(dispatcher, spec, case, result)
            except RunFailed as exc:  # a failed run fails its case, the rest goes on
                result, why = exc.result, f"the run {exc.result.status}: {exc.result.error}"
            outcome.runs += 1
            outcome.tokens += int(result.usage.get("total_tokens", 0)) + judged[0]
            outcome.cost_usd += result.cost + judged[1]
            if why:
                outcome.failures.append((result.run_id, why))
            else:
                outcome.passed += 1
            said(f"{case.name} run {outcome.runs} ({result.run_id}): {why or 'passed'}")
        results.append(outcome)
    return results


def _problems(
    dispatcher: Dispatcher, spec: CrewSpec, case: EvalCase, result: RunResult
) -> tuple[str, tuple[int, float]]:
    """Why the run's output fails the case's checks ("" when it passes), and what judging it
    cost (tokens, dollars)."""
    task = case.task or next(reversed(spec.tasks))
    outputs = {o.task: o.output for o in result.task_outputs}
    output = outputs.get(task, result.output if case.task is None else "")
    judge = dispatcher.gateway.for_run()
    reasons = check_output(
        task, spec.tasks[task], case.checks, output, spec.directory, spec.models.default, judge
    )
    spent = (int(judge.usage.summary()["total_tokens"]), judge.usage.cost_usd)
    return "; ".join(map(str, reasons)), spent


def overall(results: list[CaseResult]) -> float:
    runs = sum(r.runs for r in results)
    return sum(r.passed for r in results) / runs if runs else 0.0
