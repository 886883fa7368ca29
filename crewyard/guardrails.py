"""Task guardrails: the checks a task's output must pass, the reasons when it does not, and the
feedback that sends those reasons back to the agent. Engines only call Guard.review after each
attempt and ask again with feedback(reasons) while it returns reasons."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from pydantic import ValidationError

from crewyard.context import RunContext
from crewyard.crews import hooks
from crewyard.errors import ConfigError, GuardrailFailed
from crewyard.runs.events import EventKind
from crewyard.tasks.spec import Guardrails, TaskSpec
from crewyard.tools import formats

EXCERPT_CHARS = 500  # of each attempt's output, kept in the run record
MAX_ERRORS = 5  # schema errors reported per attempt: enough to fix, not a flood
# ```json blocks first: an untagged fence could pair a closing ``` with the next opening one
FENCES = [re.compile(rf"```{tag}[ \t]*\n(.*?)```", re.DOTALL | re.I) for tag in ("json", "")]
VERDICT = formats.json_schema(
    "verdict",
    {
        "type": "object",
        "properties": {"pass": {"type": "boolean"}, "reasons": {"type": "string"}},
        "required": ["pass", "reasons"],
    },
)
JUDGE_SYSTEM = (
    "You are a strict reviewer. Decide whether the output meets every criterion. "
    'Reply with JSON only: {"pass": true or false, "reasons": "what is wrong, or why it passes"}.'
)


class Reason(NamedTuple):
    """Why an output failed one check: the check's key in tasks.yaml, and what is wrong."""

    check: str
    text: str

    def __str__(self) -> str:
        return f"{self.check}: {self.text}"


class Judge(Protocol):
    """What a judge check calls: a model through the gateway (a run's, or an eval's)."""

    def complete(self, ref: str, messages: list[dict[str, Any]], **options: Any) -> Any: ...


def check(task_name: str, spec: TaskSpec, output: str, ctx: RunContext) -> list[Reason]:
    """Why output fails the task's guardrails, one Reason each; empty: it passes.
    The LLM judge goes last, and only when every other check passed (it costs a call)."""
    if spec.checks is None:
        return []
    return check_output(
        task_name,
        spec,
        spec.checks,
        output,
        ctx.spec.directory,
        ctx.spec.models.default,
        ctx.gateway,
    )


def check_output(
    task_name: str,
    spec: TaskSpec,
    rules: Guardrails,
    output: str,
    crew_dir: Path,
    default_model: str,
    judge: Judge,
) -> list[Reason]:
    """Why output fails these checks (a task's guardrails, or an eval case's), judged with
    the task in view by judge's model calls."""
    reasons: list[Reason] = []
    if rules.min_length is not None and len(output) < rules.min_length:
        reasons.append(
            Reason(
                "min_length",
                f"the output has {len(output)} characters; at least {rules.min_length} are needed",
            )
        )
    if rules.max_length is not None and len(output) > rules.max_length:
        reasons.append(
            Reason(
                "max_length",
                f"the output has {len(output)} characters; at most {rules.max_length} are allowed",
            )
        )
    reasons += [
        Reason("must_match", f"the output does not match the pattern {p!r}")
        for p in rules.must_match
        if re.search(p, output) is None
    ]
    for pattern in rules.must_not_match:
        if found := re.search(pattern, output):
            reasons.append(
                Reason(
                    "must_not_match",
                    f"the output must not match the pattern {pattern!r} "
                    f"(found {found.group(0)[:80]!r})",
                )
            )
    reasons += _json_checks(rules, output, crew_dir)
    if rules.check is not None:
        reasons += [Reason("check", r) for r in _custom(crew_dir, rules.check, output)]
    if rules.judge is not None and not reasons:
        verdict = _judge(task_name, spec, rules, output, default_model, judge)
        reasons += [Reason("judge", r) for r in verdict]
    return reasons


def feedback(reasons: Sequence[Reason]) -> str:
    """What the agent reads before its next attempt."""
    points = "\n".join(f"- {r}" for r in reasons)
    return (
        f"Your previous answer did not pass these checks:\n{points}\n"
        "Write the whole answer again so that it passes every check."
    )


def failed_checks(reasons: Iterable[Reason]) -> list[str]:
    """The names of the checks behind the reasons, in order, once each."""
    return list(dict.fromkeys(r.check for r in reasons))


class Guard:
    """One task's attempts: each output is checked and recorded as an event; when the retries
    are spent a failure ends the run, naming every attempt and why it failed."""

    def __init__(self, task_name: str, ctx: RunContext) -> None:
        self.task_name = task_name
        self.ctx = ctx
        self.spec = ctx.spec.tasks[task_name]
        self.max_retries = self.spec.retries
        self.failures: list[list[Reason]] = []

    @classmethod
    def of(cls, task_name: str, ctx: RunContext) -> Guard | None:
        """A guard for the task, or None when it declares no guardrails."""
        return cls(task_name, ctx) if ctx.spec.tasks[task_name].checks else None

    def review(self, output: str) -> list[Reason]:
        """The reasons this attempt failed (empty: it passed); raises GuardrailFailed when it
        failed and no retry is left."""
        attempt = len(self.failures) + 1
        reasons = check(self.task_name, self.spec, output, self.ctx)
        excerpt = output[:EXCERPT_CHARS] + ("…" if len(output) > EXCERPT_CHARS else "")
        if not reasons:
            checks = self.spec.checks.declared if self.spec.checks else []
            self.ctx.events.emit(
                EventKind.GUARDRAIL_PASSED, task=self.task_name, attempt=attempt, checks=checks
            )
            return []
        self.failures.append(reasons)
        self.ctx.events.emit(
            EventKind.GUARDRAIL_FAILED,
            task=self.task_name,
            attempt=attempt,
            checks=failed_checks(reasons),
            reasons=[str(r) for r in reasons],
            output=excerpt,
            retries_left=max(0, self.max_retries - len(self.failures) + 1),
        )
        if len(self.failures) > self.max_retries:
            raise GuardrailFailed(self._exhausted())
        return reasons

    def _exhausted(self) -> str:
        names = failed_checks(r for attempt in self.failures for r in attempt)
        lines = [
            f"task {self.task_name!r} failed its guardrails after {len(self.failures)} "
            f"attempt(s) (max_retries: {self.max_retries}); failed checks: {', '.join(names)}"
        ]
        lines += [
            f"  attempt {i}: {'; '.join(map(str, r))}" for i, r in enumerate(self.failures, 1)
        ]
        return "\n".join(lines)


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, value) for JSON text or a ```json fenced block in it, else (False, why not)."""
    try:
        return True, json.loads(text)
    except ValueError as exc:
        why = str(exc)
    for block in (b for fence in FENCES for b in fence.findall(text)):
        try:
            return True, json.loads(block)
        except ValueError:
            continue
    return False, why


def _json_path(parts: Iterable[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _json_checks(rules: Guardrails, output: str, crew_dir: Path) -> list[Reason]:
    if rules.json_schema is None and rules.output_model is None:
        return []
    ok, data = parse_json(output)
    if not ok:
        why = f"the output is not JSON ({data}); answer with the JSON alone or in a ```json block"
        return [Reason(k, why) for k in ("json_schema", "output_model") if getattr(rules, k)]
    reasons: list[Reason] = []
    if rules.json_schema is not None:
        from jsonschema import validators

        validator = validators.validator_for(rules.json_schema)(rules.json_schema)
        errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.path])
        reasons += [
            Reason("json_schema", f"at {_json_path(e.absolute_path)}: {e.message[:300]}")
            for e in errors[:MAX_ERRORS]
        ]
    if rules.output_model is not None:
        model = _from_hooks(hooks.output_model, crew_dir, rules.output_model)
        try:
            model.model_validate(data)
        except ValidationError as exc:
            reasons += [
                Reason("output_model", f"at {_json_path(err['loc'])}: {err['msg']}")
                for err in exc.errors()[:MAX_ERRORS]
            ]
    return reasons


def _from_hooks(find: Any, crew_dir: Path, name: str) -> Any:
    try:
        return find(crew_dir, name)
    except hooks.HooksProblem as problem:  # hooks.py changed since the crew was loaded
        raise ConfigError(problem.message, hint=problem.hint) from None


def _custom(crew_dir: Path, name: str, output: str) -> list[str]:
    """Run a hooks.py check: True / "" pass; False, a reason or (False, reason) fail."""
    fn = _from_hooks(hooks.check_function, crew_dir, name)
    try:
        verdict = fn(output)
    except Exception as exc:  # a bug in hooks.py, not a bad output: the run stops
        path = (crew_dir / hooks.HOOKS_FILE).resolve()
        raise ConfigError(
            f"the check raised {type(exc).__name__}: {exc}",
            file=path,
            line=hooks.line_in(exc, path),
            key=name,
            hint=f"fix {name}() in {hooks.HOOKS_FILE}",
        ) from exc
    if isinstance(verdict, tuple) and len(verdict) == 2 and isinstance(verdict[0], bool):
        return [] if verdict[0] else [str(verdict[1] or f"{name}() returned False")]
    if isinstance(verdict, bool):
        return [] if verdict else [f"{name}() returned False"]
    if isinstance(verdict, str):
        return [verdict] if verdict.strip() else []
    raise ConfigError(
        f"the check returned {verdict!r}",
        file=crew_dir / hooks.HOOKS_FILE,
        key=name,
        hint="return True, False, a reason string or (passed, reason)",
    )


def _judge(
    task_name: str,
    spec: TaskSpec,
    rules: Guardrails,
    output: str,
    default_model: str,
    gateway: Judge,
) -> list[str]:
    """One model call through the gateway; its verdict's reasons when it says no."""
    criteria = rules.judge or ""  # the spec's templates are filled before the run
    task = f"{spec.description.strip()}\nExpected output: {spec.expected_output}"
    prompt = (
        f"The task:\n{task}\n\nThe criteria:\n{criteria}\n\n"
        f"The output to review:\n<<<\n{output}\n>>>\n\n"
        'Does the output meet every criterion? Answer as JSON: {"pass": …, "reasons": "…"}'
    )
    reply = gateway.complete(
        rules.judge_model or default_model,
        [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": prompt}],
        agent="guardrail_judge",
        task=task_name,
        temperature=0,
        response_format=VERDICT,
    )
    passed, reasons = read_verdict(reply.text)
    if passed is None:  # no verdict is no approval
        return [f"the judge gave no clear verdict ({reply.text.strip()[:200]!r})"]
    return [] if passed else [reasons or f"the output does not meet: {criteria}"]


YES = {"true", "yes", "pass", "passed", "ok", "approved", "accept", "accepted"}
NO = {"false", "no", "fail", "failed", "rejected", "reject"}


def read_verdict(text: str) -> tuple[bool | None, str]:
    """(passed, reasons) from a judge's reply: JSON (bare or fenced) or plain words; passed
    is None when no verdict can be read."""
    ok, data = parse_json(text.strip())
    if ok and isinstance(data, dict):
        reasons = next((data[k] for k in ("reasons", "reason", "feedback") if k in data), "")
        reasons = "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)
        for key in ("pass", "passed", "ok", "valid", "approved", "verdict"):
            value = data.get(key)
            word = str(value).strip().lower()
            if word in YES or word in NO:
                return word in YES, reasons.strip()
    # a "pass": … fragment (cut-off JSON), else the first word ("FAIL - no source")
    found = re.search(r'\b(?:pass|passed)\b"?\s*[:=]\s*"?(\w+)', text, re.I)
    found = found or (None if ok else re.match(r"\W*(\w+)", text))
    word = found.group(1).lower() if found else ""
    if word in YES or word in NO:
        return word in YES, text.strip()[:500]
    return None, ""
