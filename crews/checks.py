"""Checks the loader makes before and after reading a crew: a crew (or library) name is a
plain name, never a path, declared input defaults have their declared types, and schedules
fire at real times with inputs the crew takes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

from crewyard.crews.inputs import convert, resolve_inputs
from crewyard.crews.schedules import ScheduleSpec, check_schedule
from crewyard.crews.spec import CrewFile, CrewSpec
from crewyard.crews.yamlfile import KeyPath, YamlDoc, short
from crewyard.errors import ConfigError, InputError, did_you_mean

MAX_NAME_CHARS = 100


def name_problem(name: object) -> str | None:
    """Why name is not a plain folder or file name (so it cannot reach outside its folder)."""
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not a string"
    if not name.strip():
        return "is empty"
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).anchor:
        return "is an absolute path"
    if "/" in name or "\\" in name:
        return "is a path (it holds '/' or '\\')"
    if name.startswith("."):
        return "starts with '.'"
    if ":" in name:
        return "holds ':' (a drive on Windows)"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "holds a control character"
    if name != name.strip():
        return "starts or ends with a space"
    if len(name) > MAX_NAME_CHARS:
        return f"is longer than {MAX_NAME_CHARS} characters"
    return None


def check_crew_name(name: object, crews_dir: Path, known: Callable[[], list[str]]) -> str:
    """name, if it names a folder directly inside crews_dir; else a ConfigError that says
    why and suggests the crew it may mean (known() lists the crews)."""
    problem = name_problem(name)
    if problem is None:
        assert isinstance(name, str)
        return name
    names = known()
    text = str(name)
    last = text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].strip().lstrip(".")
    close = did_you_mean(last, names) if last else None
    where = f"a crew name is the name of a folder in {crews_dir}; see --list"
    raise ConfigError(
        f"{short(repr(name), 80)} is not a plain crew name: it {problem}",
        hint=f"{close} ({where})" if close else where,
    )


def check_library_name(name: str, kind: str, library: Path, doc: YamlDoc, at: KeyPath) -> None:
    """A name looked up in a shared library (agents/library, tasks/library) is a file name."""
    problem = name_problem(name)
    if problem is not None:
        raise doc.error(
            f"{short(repr(name), 80)} is not a name of a library {kind}: it {problem}",
            at,
            f"name a file in {library} (without .yaml), or an entry of the crew's {kind}s",
        )


def check_input_defaults(crew: CrewFile, doc: YamlDoc) -> None:
    """Every declared input's default is of its type (a run would get it as that type)."""
    for name, spec in (crew.inputs or {}).items():
        if spec.default is None:
            continue
        try:
            convert(name, spec, spec.default)
        except InputError as exc:
            raise doc.error(
                exc.message.replace(f"input {name!r}", f"the default of input {name!r}", 1),
                ("inputs", name, "default"),
                f"give a default of type {spec.type}, or change its type",
            ) from None


def check_schedules(spec: CrewSpec, crew: CrewFile, doc: YamlDoc) -> tuple[ScheduleSpec, ...]:
    """Each schedule's cron, timezone and inputs (typed like --input values), and a name of
    its own."""
    checked: list[ScheduleSpec] = []
    names: set[str] = set()
    for i, schedule in enumerate(crew.schedules):
        at: KeyPath = ("schedules", i)
        check_schedule(schedule, spec.directory, doc, at)
        name = schedule.name or f"{spec.name}-{i + 1}"
        if name in names:
            raise doc.error(f"two schedules are named {name!r}", (*at, "name"), "rename one")
        names.add(name)
        inputs = schedule.inputs
        for key in schedule.inputs:  # crewyard's own file: a typo here is an error
            if key not in spec.inputs:
                raise doc.error(
                    f"crew {spec.name!r} has no input {key!r}",
                    (*at, "inputs", key),
                    did_you_mean(key, spec.inputs) or f"its inputs: {', '.join(spec.inputs)}",
                )
        if schedule.inputs_file is None:
            try:
                inputs = resolve_inputs(spec, schedule.inputs)
            except InputError as exc:
                raise doc.error(
                    exc.message, (*at, "inputs", *((exc.key,) if exc.key else ())), exc.hint
                ) from None
        checked.append(schedule.model_copy(update={"name": name, "inputs": inputs}))
    return tuple(checked)
