"""A tool reference → a Tool, from the four places tools come from, in this order: built-ins
(tools/builtin.py, files.py, net.py), tools registered in code or through the `crewyard.tools`
entry point group, the crew's own tools.py (imported only when a name is not found before),
and crewai-tools by class or snake_case name (imported only when such a name is used)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import ValidationError

from crewyard.errors import did_you_mean
from crewyard.tools import is_registered, registered, registered_names
from crewyard.tools.crew_tools import CrewToolsProblem, crew_tools, has_tools_file
from crewyard.tools.files import FILE_TOOLS
from crewyard.tools.net import NET_TOOLS
from crewyard.tools.refs import ToolReference, ref_args, ref_name
from crewyard.tools.spec import Tool, ToolFactory
from crewyard.tools.workspace import ToolEnv

FACTORIES: dict[str, ToolFactory] = {f.name: f for f in [*FILE_TOOLS, *NET_TOOLS]}


class ToolProblem(Exception):
    """A tool reference that cannot be used; the loader adds where it is (file:line:key)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def builtin_names() -> list[str]:
    return sorted({*FACTORIES, *registered_names()})


def _options(factory: ToolFactory, args: dict[str, Any]) -> Any:
    try:
        return factory.options.model_validate(args)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}" for e in exc.errors()
        )
        fields = ", ".join(factory.options.model_fields) or "none"
        raise ToolProblem(
            f"bad args for {factory.name}: {problems}", f"its options: {fields}"
        ) from None


def _no_args(name: str, args: dict[str, Any]) -> None:
    if args:
        raise ToolProblem(f"tool {name!r} takes no args", "remove args:, or name it alone")


def _crew_tools(env: ToolEnv) -> dict[str, Tool]:
    if not has_tools_file(env.crew_dir):
        return {}
    try:
        return crew_tools(env.crew_dir)
    except CrewToolsProblem as exc:
        raise ToolProblem(str(exc), "fix the crew's tools.py") from exc


def resolve(ref: ToolReference, env: ToolEnv, *, build: bool = True) -> Tool | None:
    """The Tool a reference names (made for env), or ToolProblem saying why not.
    build=False checks only (a crewai-tools class is not constructed) and returns None
    for a crewai tool."""
    name, args = ref_name(ref), ref_args(ref)
    if name in FACTORIES:
        factory = FACTORIES[name]
        options = _options(factory, args)
        if factory.problem is not None and (problem := factory.problem(env)):
            raise ToolProblem(problem, "add web: {allow: [example.org]} to crew.yaml")
        return factory.build(env, options)
    if is_registered(name):
        _no_args(name, args)
        return registered()[name]
    local = _crew_tools(env)
    if name in local:
        _no_args(name, args)
        return local[name]
    from crewyard.tools import crewai_tools

    cls = crewai_tools.lookup(name)
    if cls is not None:
        if problem := crewai_tools.option_problem(cls, args):
            raise ToolProblem(problem)
        return crewai_tools.adapt(cls, args, env) if build else None
    known = [*builtin_names(), *local]
    extra = list(crewai_tools.names()) if crewai_tools.looks_like(name) else []
    raise ToolProblem(
        f"unknown tool {name!r}",
        did_you_mean(name, known + extra)
        or f"tools: {', '.join(known)}; or a crewai-tools class such as FileReadTool, "
        "or a @tool function in the crew's tools.py",
    )


def crewai_class(ref: ToolReference, env: ToolEnv) -> type | None:
    """The crewai-tools class a reference names (crewai-tools imported only for a name that
    is no built-in, registered or crew tool), or None."""
    name = ref_name(ref)
    if name in FACTORIES or is_registered(name):
        return None
    if has_tools_file(env.crew_dir) and name in _crew_tools(env):
        return None
    from crewyard.tools import crewai_tools

    return crewai_tools.lookup(name)


def missing_env(ref: ToolReference, env: ToolEnv) -> list[tuple[str, str]]:
    """(variable, what it is) of each environment variable the tool needs and is not set."""
    from crewyard.tools import crewai_tools

    cls = crewai_class(ref, env)
    needed = crewai_tools.needed_env(cls) if cls is not None else []
    return [(var, what) for var, what in needed if not os.environ.get(var)]
