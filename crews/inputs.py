"""Crew inputs: parse `key=value` strings, apply defaults, check types and required keys."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from crewyard.crews.spec import CrewSpec, InputSpec
from crewyard.crews.yamlfile import (
    MAX_DEPTH,
    MAX_INT,
    MAX_INT_CHARS,
    MAX_VALUES,
    parse_yaml,
    read_text,
    short,
    too_deep,
    too_many,
)
from crewyard.errors import ConfigError, InputError, did_you_mean
from crewyard.redact import logger

# {name} is a placeholder; {{name}} is the literal text {name} (no input is asked for it)
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
_FILLED = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}|" + PLACEHOLDER.pattern)
# One input's text: far more than any model's context window holds (the gateway says so),
# little enough never to exhaust the machine (a 10 MB input once took 5.4 GB).
MAX_INPUT_CHARS = 1024 * 1024

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    """`--input key=value` strings into a dict; a pair with no '=' is an error."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(
                f"--input {pair!r} is not key=value", hint='write --input topic="solar storage"'
            )
        out[key.strip()] = value
    return out


def read_inputs_file(path: Path) -> dict[str, Any]:
    """Inputs from a JSON or YAML file holding one mapping, read within the limits of crew
    files (crewyard.crews.yamlfile: size, UTF-8 text, depth, values, numbers)."""
    try:
        text = read_text(path, "the inputs file")
        if path.suffix.lower() == ".json":
            data = _parse_json(text, path)
        else:
            data = parse_yaml(text, path).data
    except InputError:
        raise
    except ConfigError as exc:
        raise InputError(
            exc.message, file=exc.file, line=exc.line, key=exc.key, hint=exc.hint
        ) from None
    if not isinstance(data, dict):
        raise InputError("inputs file must hold one mapping of input names to values", file=path)
    return {str(k): v for k, v in data.items()}


def _parse_json(text: str, path: Path) -> Any:
    def integer(digits: str) -> int:
        if len(digits) > MAX_INT_CHARS:
            raise ValueError(f"number {short(digits, 40)} is too large")
        return int(digits)

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a finite number")

    try:
        data = json.loads(text, parse_int=integer, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"malformed JSON: {exc.msg}",
            file=path,
            line=exc.lineno,
            hint="check the quotes, commas and brackets near that line",
        ) from None
    except ValueError as exc:
        raise ConfigError(str(exc), file=path, hint="write a finite number") from None
    except RecursionError:
        raise too_deep(path) from None
    return _check_plain(data, path)


def _check_plain(data: Any, path: Path | str) -> Any:
    """Parsed JSON within the limits of YAML files: depth, values, int64, finite floats."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise too_many(path)
        if depth > MAX_DEPTH:
            raise too_deep(path)
        if isinstance(value, dict):
            stack += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{value} is not a finite number", file=path, hint="write a number")
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ConfigError(
                f"number {short(str(value), 40)} is too large (at most {MAX_INT})",
                file=path,
                hint="write a smaller number, or quote it to keep it as text",
            )
    return data


def convert(name: str, spec: InputSpec, value: Any) -> Any:
    """value (a CLI string, or a value from a file or a default) as the input's type."""
    expected = spec.type
    if not isinstance(value, str) or expected == "str":
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "list": isinstance(value, list),
            "dict": isinstance(value, dict),
        }[expected]
        if expected == "str" and isinstance(value, int | float | bool):
            return str(value)
        if not ok:
            raise InputError(
                f"input {name!r} must be {expected}, "
                f"got {type(value).__name__} {short(repr(value), 60)}",
                key=name,
            )
        return float(value) if expected == "float" else value
    text = value.strip()
    try:
        if expected == "int":
            return int(text)
        if expected == "float":
            return float(text)
        if expected == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(text)
        parsed = json.loads(text) if text[:1] in "[{" else None
        if expected == "list":
            return parsed if isinstance(parsed, list) else [s.strip() for s in text.split(",")]
        if isinstance(parsed, dict):
            return parsed
        raise ValueError(text)
    except ValueError:
        examples = {
            "int": "42",
            "float": "0.5",
            "bool": "true",
            "list": 'a,b or ["a"]',
            "dict": '{"k": "v"}',
        }
        raise InputError(
            f"input {name!r} must be {expected}, got {short(repr(value), 60)}",
            key=name,
            hint=f"for example --input {name}={examples[expected]}",
        ) from None


def unused_inputs(spec: CrewSpec, given: dict[str, Any]) -> list[str]:
    """A warning for each given input the crew does not use (CrewAI ignores them too)."""
    out = []
    for name in given:
        if name not in spec.inputs:
            close = did_you_mean(name, spec.inputs)
            known = ", ".join(spec.inputs) or "none"
            out.append(
                f"crew {spec.name!r} does not use input {name!r}; it is ignored "
                f"({close or f'its inputs: {known}'})"
            )
    return out


def resolve_inputs(
    spec: CrewSpec, given: dict[str, Any], warn: Callable[[str], object] | None = None
) -> dict[str, Any]:
    """Typed inputs for a run: given values converted, defaults applied, all checked. An
    input the crew does not use is ignored, told to warn (default: the log, as a warning);
    a null value takes the input's default."""
    for problem in unused_inputs(spec, given):
        (warn or logger.warning)(problem)
    ignored = [k for k in given if k not in spec.inputs]
    given = {k: v for k, v in given.items() if k in spec.inputs and v is not None}
    for name, value in given.items():
        if isinstance(value, str) and len(value) > MAX_INPUT_CHARS:
            raise InputError(
                f"input {name!r} is {len(value):,} characters long; an input holds at most "
                f"{MAX_INPUT_CHARS:,}",
                key=name,
                hint="give the crew a shorter text, or a file it reads with a tool",
            )
    resolved: dict[str, Any] = {}
    for name, input_spec in spec.inputs.items():
        if name in given:
            resolved[name] = convert(name, input_spec, given[name])
        elif input_spec.default is not None:  # checked when the crew was loaded
            resolved[name] = convert(name, input_spec, input_spec.default)
        elif input_spec.is_required:
            desc = f" ({input_spec.description})" if input_spec.description else ""
            typo = difflib.get_close_matches(name, ignored, n=1)
            raise InputError(
                f"crew {spec.name!r} needs input {name!r}{desc}",
                key=name,
                hint=f'add --input {name}="…"'
                + (f" (the input {typo[0]!r} given is not used: a typo?)" if typo else ""),
            )
    _check_output_files(spec, resolved)
    return resolved


def outside_path_problem(path: str) -> str | None:
    """Why a relative output path could land outside its folder, or None."""
    if not path.strip():
        return "is empty"
    for flavour in (PurePosixPath(path), PureWindowsPath(path)):
        if flavour.is_absolute() or flavour.drive or flavour.root:
            return "is an absolute path"
        if ".." in flavour.parts:
            return "climbs out of the outputs folder with '..'"
    return None


def _check_output_files(spec: CrewSpec, inputs: dict[str, Any]) -> None:
    """An input placed into an output_file must keep it inside the run's outputs folder."""
    for task_name, task in spec.tasks.items():
        if not task.output_file or not PLACEHOLDER.search(task.output_file):
            continue
        filled = fill(task.output_file, inputs)
        if problem := outside_path_problem(filled):
            used = [m.group(1) for m in PLACEHOLDER.finditer(task.output_file)]
            raise InputError(
                f"task {task_name!r} would write its output_file to {filled!r}, which {problem}",
                key=used[0] if len(used) == 1 else None,
                hint=f"give {' and '.join(used)} a value without '/', '\\' or '..'",
            )


def fill(text: str, inputs: dict[str, Any]) -> str:
    """Replace {name} placeholders with input values and {{name}} with the literal {name};
    other braces (JSON examples, say) are left alone."""

    def sub(match: Any) -> str:
        if match.group(1) is not None:
            return "{" + str(match.group(1)) + "}"
        key = match.group(2)
        return str(inputs[key]) if key in inputs else str(match.group(0))

    return _FILLED.sub(sub, text)
