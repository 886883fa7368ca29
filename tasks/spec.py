"""TaskSpec: one task, in CrewAI's own tasks.yaml keys, plus the checks its output must pass."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from crewyard.tools.refs import ToolReference

DEFAULT_MAX_RETRIES = 2
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999} overflows
        raise ValueError(f"invalid regex {pattern!r}: {exc}") from None
    return pattern


def _is_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    # imported here: only crews that declare a schema pay for jsonschema's import
    from jsonschema import exceptions, validators

    try:
        validators.validator_for(schema).check_schema(schema)
    except exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise ValueError(f"not a valid JSON Schema at {where}: {exc.message}") from None
    except (TypeError, LookupError) as exc:  # e.g. `$schema: [1]` names no known draft
        raise ValueError(f"not a valid JSON Schema: {exc}") from None
    return schema


Regex = Annotated[str, AfterValidator(_compiles)]


class Guardrails(BaseModel):
    """Checks a task's output must pass; a failed check sends the reasons back to the agent,
    which tries again (up to the task's max_retries)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    json_schema: Annotated[dict[str, Any], AfterValidator(_is_json_schema)] | None = Field(
        default=None,
        description="A JSON Schema the output must satisfy; the output is parsed as JSON "
        "(a ```json fenced block is accepted).",
    )
    output_model: str | None = Field(
        default=None,
        pattern=IDENTIFIER,
        description="Name of a pydantic model in the crew's hooks.py; the output JSON must "
        "validate against it.",
    )
    must_match: tuple[Regex, ...] = Field(
        default=(), description="Regexes (Python re) that must each be found in the output."
    )
    must_not_match: tuple[Regex, ...] = Field(
        default=(), description="Regexes (Python re) that must not be found in the output."
    )
    min_length: int | None = Field(default=None, ge=0, description="Fewest characters.")
    max_length: int | None = Field(default=None, ge=1, description="Most characters.")
    check: str | None = Field(
        default=None,
        pattern=IDENTIFIER,
        description="Name of a function in the crew's hooks.py, f(output: str) -> bool | str | "
        "tuple[bool, str]; a non-empty str (or False) fails, and says why.",
    )
    judge: str | None = Field(
        default=None,
        description="Criteria an LLM judge checks the output against (one model call per "
        "attempt, made only when every other check passed).",
    )
    judge_model: str | None = Field(
        default=None, description="Model alias of the judge; default: the crew's models.default."
    )

    @model_validator(mode="after")
    def _lengths_agree(self) -> Guardrails:
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError(f"min_length {self.min_length} > max_length {self.max_length}")
        return self

    @property
    def declared(self) -> list[str]:
        """The names of the checks this declares, in the order they run."""
        names = ["min_length", "max_length", "must_match", "must_not_match", "json_schema"]
        names += ["output_model", "check", "judge"]
        return [n for n in names if getattr(self, n) not in (None, ())]


# CrewAI task keys crewyard accepts but does not act on, and why (reported at load).
REPORTED_KEYS: dict[str, str] = {
    "callback": "crewyard records every finished task as a run event and checkpoint",
    "callbacks": "crewyard records every finished task as a run event and checkpoint",
    "converter_cls": "output_pydantic and output_json are parsed by CrewAI's own converter",
    "response_model": "name the model with output_pydantic instead",
    "allow_crewai_trigger_context": "CrewAI platform triggers need its hosted service",
    "input_files": "give files to the crew as inputs or through a tool",
    "security_config": "crewyard runs code and tools under its own sandbox rules",
    "tool_failure_policy": "a failing tool's error goes back to the agent (crewyard's rule)",
}


def _reported(key: str) -> Any:
    return Field(default=None, description=f"CrewAI key, not supported: {REPORTED_KEYS[key]}.")


class TaskSpec(BaseModel):
    """A task as declared in tasks.yaml (CrewAI's keys, unchanged) or tasks/library/."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = Field(description="What to do; {placeholders} are filled from inputs.")
    expected_output: str = Field(description="What a good result looks like.")
    agent: str | None = Field(
        default=None, description="Name of the agent that does it (required for sequential)."
    )
    context: tuple[str, ...] | None = Field(
        default=None,
        description="Names of earlier tasks whose outputs this task reads; "
        "default: every earlier task's output (CrewAI's rule).",
    )
    output_file: str | None = Field(
        default=None,
        description="File to write the output to, relative to the run's output directory.",
    )
    tools: tuple[ToolReference, ...] = Field(
        default=(),
        description="Tools for this task only: a name, or {name: X, args: {...}} with options.",
    )
    model: str | None = Field(
        default=None,
        description="Model for this task only: an alias, a LiteLLM model string, or `auto` "
        "(the gateway routes by the task's complexity); default: the agent's.",
    )
    async_execution: bool = Field(default=False, description="CrewAI key: run in the background.")
    human_input: bool = Field(default=False, description="CrewAI key: ask a human to review.")
    markdown: bool = Field(default=False, description="Ask for Markdown output (CrewAI key).")
    create_directory: bool = Field(default=True, description="Create output_file's folder.")
    name: str | None = Field(default=None, description="Display name; defaults to the YAML key.")
    extends: str | None = Field(
        default=None,
        description="Name of a task in tasks/library/ whose keys this task starts from.",
    )
    guardrails: Guardrails | None = Field(
        default=None, description="Checks the output must pass before the next task starts."
    )
    max_retries: int | None = Field(
        default=None,
        ge=0,
        description=f"How many times the agent tries again after failed guardrails, told why "
        f"(default {DEFAULT_MAX_RETRIES}); then the run fails.",
    )
    guardrail: str | None = Field(
        default=None,
        description="CrewAI key: a criterion an LLM judge checks the output against "
        "(the same as guardrails.judge).",
    )
    guardrail_max_retries: int | None = Field(
        default=None, ge=0, description="CrewAI key: the same as max_retries."
    )
    output_pydantic: str | None = Field(
        default=None,
        pattern=IDENTIFIER,
        description="CrewAI key: name of a pydantic model in the crew's hooks.py; CrewAI "
        "processes parse the output into it.",
    )
    output_json: str | None = Field(
        default=None,
        pattern=IDENTIFIER,
        description="CrewAI key: name of a pydantic model in the crew's hooks.py whose JSON "
        "the output must be (CrewAI processes).",
    )
    callback: Any = _reported("callback")
    callbacks: Any = _reported("callbacks")
    converter_cls: Any = _reported("converter_cls")
    response_model: Any = _reported("response_model")
    allow_crewai_trigger_context: Any = _reported("allow_crewai_trigger_context")
    input_files: Any = _reported("input_files")
    security_config: Any = _reported("security_config")
    tool_failure_policy: Any = _reported("tool_failure_policy")

    @model_validator(mode="after")
    def _one_way_to_say_it(self) -> TaskSpec:
        if self.guardrail is not None and self.guardrails and self.guardrails.judge is not None:
            raise ValueError(
                "the judge's criteria are given twice: guardrail (CrewAI's key) and "
                "guardrails.judge; keep one of them"
            )
        if self.max_retries is not None and self.guardrail_max_retries is not None:
            raise ValueError(
                "retries are given twice: max_retries and guardrail_max_retries (CrewAI's key); "
                "keep one of them"
            )
        if self.output_pydantic is not None and self.output_json is not None:
            raise ValueError(
                "output_pydantic and output_json are both set; CrewAI takes one of them"
            )
        checks = self.checks
        if checks is not None and not checks.declared:
            raise ValueError(
                "guardrails declares no check: add json_schema, output_model, must_match, "
                "must_not_match, min_length, max_length, check or judge"
            )
        if checks is not None and checks.judge_model is not None and checks.judge is None:
            raise ValueError("guardrails.judge_model is set but there is no judge criterion")
        if self.max_retries is not None and checks is None:
            raise ValueError("max_retries is set but the task has no guardrails to retry")
        return self

    @property
    def checks(self) -> Guardrails | None:
        """The task's guardrails, CrewAI's `guardrail` criterion folded in as the judge."""
        if self.guardrail is None:
            return self.guardrails
        if self.guardrails is None:
            return Guardrails(judge=self.guardrail)
        return self.guardrails.model_copy(update={"judge": self.guardrail})

    @property
    def retries(self) -> int:
        """Retries after a failed guardrail check."""
        for value in (self.max_retries, self.guardrail_max_retries):
            if value is not None:
                return value
        return DEFAULT_MAX_RETRIES
