"""A crew's optional hooks.py: the Python its tasks.yaml names (guardrail checks, output models).

It is imported only when a task names something in it, as a module whose name is unique to
its path (two crews' hooks never clash), and again only when the file changes."""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from crewyard.crews.yamlfile import KeyPath, YamlDoc
from crewyard.errors import did_you_mean
from crewyard.tasks.spec import TaskSpec

HOOKS_FILE = "hooks.py"
# what to write in hooks.py for each key that names something there
TEMPLATES = {
    "check": "def {name}(output: str) -> bool | str | tuple[bool, str]",
    "output_model": "class {name}(pydantic.BaseModel)",
}
_loaded: dict[Path, tuple[int, ModuleType]] = {}
_lock = threading.Lock()


class HooksProblem(Exception):
    """hooks.py is missing, fails to import, or lacks a name; the loader adds where it is
    referenced (tasks.yaml file:line:key)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    crew = re.sub(r"\W", "_", path.parent.name)
    return f"_crewyard_hooks_{crew}_{digest}"


def load(crew_dir: Path) -> ModuleType:
    """crew_dir/hooks.py as a module (cached until the file changes)."""
    path = (crew_dir / HOOKS_FILE).resolve()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise HooksProblem(
            f"the crew has no {path}", f"create {HOOKS_FILE} beside crew.yaml"
        ) from None
    with _lock:
        cached = _loaded.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        name = _module_name(path)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # pydantic resolves the models' annotations through it
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            line = line_in(exc, path)
            where = f"{path}:{line}" if line else str(path)
            raise HooksProblem(
                f"{where} raised {type(exc).__name__} on import: {exc}",
                f"fix {HOOKS_FILE}" + (f" near line {line}" if line else ""),
            ) from exc
        _loaded[path] = (mtime, module)
        return module


def line_in(exc: BaseException, path: Path) -> int | None:
    """The deepest line of path in the exception's traceback (or its syntax error)."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    return lines[-1] if lines else None


def _is_model(value: Any) -> bool:
    return inspect.isclass(value) and issubclass(value, BaseModel) and value is not BaseModel


def _lookup(module: ModuleType, name: str, kind: str, fits: Callable[[Any], bool]) -> Any:
    value = getattr(module, name, None)
    if value is not None and fits(value):
        return value
    known = [n for n, v in vars(module).items() if not n.startswith("_") and fits(v)]
    where = f"{module.__file__}"
    if value is not None:
        raise HooksProblem(f"{name!r} in {where} is not a {kind}", f"make {name} a {kind}")
    hint = did_you_mean(name, known) or (
        f"{kind}s there: {', '.join(known)}" if known else f"define it in {where}"
    )
    raise HooksProblem(f"no {kind} named {name!r} in {where}", hint)


def check_function(crew_dir: Path, name: str) -> Callable[[str], object]:
    """The check function called name in the crew's hooks.py."""
    fits = lambda v: inspect.isfunction(v) or (callable(v) and not inspect.isclass(v))  # noqa: E731
    fn: Callable[[str], object] = _lookup(load(crew_dir), name, "function", fits)
    try:
        inspect.signature(fn).bind("output")
    except TypeError:
        raise HooksProblem(
            f"{name!r} in {fn.__code__.co_filename if inspect.isfunction(fn) else HOOKS_FILE} "
            "must take one argument, the output",
            TEMPLATES["check"].format(name=name),
        ) from None
    except ValueError:  # no signature to read (a builtin): let the call tell
        pass
    return fn


def output_model(crew_dir: Path, name: str) -> type[BaseModel]:
    """The pydantic model called name in the crew's hooks.py."""
    model: type[BaseModel] = _lookup(load(crew_dir), name, "pydantic model", _is_model)
    return model


def check_references(
    crew_dir: Path,
    tasks: Mapping[str, TaskSpec],
    task_docs: Mapping[str, tuple[YamlDoc, KeyPath]],
) -> None:
    """Every hooks.py name a task's guardrails use must be there; errors point at tasks.yaml."""
    for task_name, task in tasks.items():
        rules = task.guardrails
        if rules is None:
            continue
        doc, at = task_docs[task_name]
        for key, name, find in (
            ("check", rules.check, check_function),
            ("output_model", rules.output_model, output_model),
        ):
            if name is None:
                continue
            try:
                find(crew_dir, name)
            except HooksProblem as problem:
                hint = problem.hint
                if hint and hint.startswith(("create", "define")):
                    hint += f": {TEMPLATES[key].format(name=name)}"
                raise doc.error(problem.message, (*at, "guardrails", key), hint) from None
