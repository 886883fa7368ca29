"""crewai-tools by class name (FileReadTool) or snake_case name (file_read_tool): the only
module that imports crewai_tools, and only when a crew names such a tool. Each becomes a Tool
(its args_schema as our args model) that keeps the crewai object as `native`: the CrewAI
engine hands CrewAI that object, AutoGen gets a function tool over the same JSON schema, and
every call goes through RunContext.call_tool. Path arguments (file_path, directory, …) are
confined to the crew's workspace (tools/workspace.py) before the tool sees them."""

from __future__ import annotations

import ast
import inspect
import os
import re
import sys
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from crewyard.environ import while_importing
from crewyard.tools.workspace import OutsideWorkspace, ToolEnv, Workspace

# the arguments (and constructor options) that name a file or folder
PATH_KEYS = frozenset(
    {"file_path", "directory", "filename", "path", "base_dir", "file", "directory_path"}
    | {"csv", "docx", "pdf", "txt", "json_path", "mdx", "xml"}
)
# while a call runs: the workspace roots crewai-tools' own path check allows
_ROOTS: ContextVar[tuple[str, ...]] = ContextVar("crewyard_tool_roots", default=())


def looks_like(name: str) -> bool:
    """A name that may be a crewai-tools class (so the package is worth importing)."""
    return name.endswith(("Tool", "_tool"))


def snake_case(name: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name))


@cache
def _package() -> ModuleType:
    with while_importing(
        {
            "CREWAI_DISABLE_TELEMETRY": "true",
            "CREWAI_DISABLE_TRACKING": "true",
            "OTEL_SDK_DISABLED": "true",
            "CREWAI_TRACING_ENABLED": "false",
            "CREWAI_DISABLE_VERSION_CHECK": "true",
        }
    ):
        import crewai_tools
        from crewai_tools.security import safe_path
    _confine_own_checks(safe_path)
    return crewai_tools


def _confine_own_checks(safe_path: ModuleType) -> None:
    """crewai-tools checks paths against the working folder; in a crewyard run the paths are
    checked (and made real) against the workspace already, so its check uses those roots."""
    original = safe_path.validate_file_path

    def validate_file_path(path: str, base_dir: str | None = None) -> str:
        roots = _ROOTS.get()
        if base_dir is None and roots:
            real = os.path.realpath(path)
            base_dir = next((r for r in roots if real == r or real.startswith(r + os.sep)), None)
            base_dir = base_dir or roots[0]
        return str(original(path, base_dir))

    for name, module in list(sys.modules.items()):
        if name.startswith("crewai_tools") and getattr(module, "validate_file_path", None) is (
            original
        ):
            module.validate_file_path = validate_file_path  # type: ignore[attr-defined]


def names() -> dict[str, type]:
    """Every crewai-tools class by its class name and its snake_case name."""
    package = _package()
    found: dict[str, type] = {}
    for attr in getattr(package, "__all__", []):
        cls = getattr(package, attr, None)
        if isinstance(cls, type) and attr.endswith("Tool"):
            found[attr] = found[snake_case(attr).lower()] = cls
    return found


def lookup(name: str) -> type | None:
    return names().get(name) if looks_like(name) else None


def needed_env(cls: type) -> list[tuple[str, str]]:
    """(variable, what it is) of every required environment variable the class declares."""
    declared = _declared(cls, "env_vars")
    return [(e.name, e.description) for e in declared if e.required and e.default is None]


# what a tool module imports when its calls go over the network
NETWORK_CLIENTS = frozenset(
    {"requests", "httpx", "aiohttp", "urllib3", "urllib.request", "websocket", "openai"}
)
NETWORK_NAMES = frozenset({"safe_get", "urlopen", "validate_url"})


def _declared(cls: type, field_name: str) -> list[Any]:
    field = getattr(cls, "model_fields", {}).get(field_name)
    return list(field.get_default(call_default_factory=True) or []) if field is not None else []


def packages(cls: type) -> list[str]:
    """The distributions a crewai-tools class declares it needs (package_dependencies)."""
    return [
        re.split(r"[<>=!~\[; ]", str(p), maxsplit=1)[0]
        for p in _declared(cls, "package_dependencies")
    ]


def missing_packages(cls: type) -> list[str]:
    """Declared distributions that are not installed (crewai-tools would offer to install
    them at the first call, asking on the terminal)."""
    missing = []
    for name in packages(cls):
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def network_use(cls: type) -> str | None:
    """How a crewai-tools class reaches the network, or None for one that works offline: the
    package declares keys, never the network, so it is read from what the class is (a RAG
    tool), the service clients it declares, and what its module imports."""
    if any(base.__name__ == "RagTool" for base in cls.__mro__):
        return "it embeds what it searches with a model provider's API (OpenAI unless configured)"
    services = [p for p in packages(cls) if p.lower() not in ("pydantic", "requests")]
    if services:
        return f"it is a client of a service ({', '.join(services)})"
    own = [c for c in cls.__mro__ if c.__module__.startswith("crewai_tools.")]
    for found in map(_network_import, dict.fromkeys(c.__module__ for c in own)):
        if found:
            return f"it calls web services (through {found})"
    return None


def _network_import(module: str) -> str | None:
    """The first network client a module imports (parsed, not run), or None."""
    try:
        tree = ast.parse(Path(inspect.getfile(sys.modules[module])).read_text(encoding="utf-8"))
    except (KeyError, OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found = [a.name for a in node.names if _is_client(a.name)]
        elif isinstance(node, ast.ImportFrom):
            found = [node.module] if node.module and _is_client(node.module) else []
            found += [a.name for a in node.names if a.name in NETWORK_NAMES]
        else:
            continue
        if found:
            return str(found[0])
    return None


def _is_client(module: str) -> bool:
    return module in NETWORK_CLIENTS or module.split(".")[0] in NETWORK_CLIENTS


def option_problem(cls: type, args: dict[str, Any]) -> str | None:
    """Why these constructor options cannot be given (an unknown one), or None."""
    fields = set(getattr(cls, "model_fields", {}))
    unknown = [k for k in args if k not in fields]
    if unknown:
        allowed = sorted(fields - {"name", "description", "env_vars", "args_schema"})
        return f"{cls.__name__} has no option {unknown[0]!r}; options: {', '.join(allowed)}"
    return None


@dataclass(frozen=True)
class CrewaiTool:
    """A crewai-tools object as a crewyard Tool."""

    name: str
    description: str
    args: type[BaseModel]
    native: Any  # the crewai BaseTool itself: what the CrewAI engine hands to CrewAI
    space: Workspace

    def call(self, **kwargs: Any) -> str:
        try:
            kwargs = confine(self.space, kwargs)
        except OutsideWorkspace as exc:
            return f"error: {exc}"
        token = _ROOTS.set(tuple(str(r.resolve()) for _, r in self.space.roots()))
        try:
            result = self.native.run(**kwargs)
        finally:
            _ROOTS.reset(token)
        return self.space.unlabel(str(result))


def confine(space: Workspace, values: dict[str, Any], *, write: bool = False) -> dict[str, Any]:
    """values with every path option made the real path inside the workspace it names
    (OutsideWorkspace when one leads out)."""
    out = dict(values)
    if isinstance(out.get("directory"), str) and isinstance(out.get("filename"), str):
        whole = space.resolve(f"{out['directory'].rstrip('/')}/{out['filename']}", write=True)
        out["directory"], out["filename"] = str(whole.parent), whole.name
        return out
    for key, value in values.items():
        if key in PATH_KEYS and isinstance(value, str):
            out[key] = str(space.resolve(value, write=write or key == "filename"))
    return out


def adapt(cls: type, args: dict[str, Any], env: ToolEnv) -> CrewaiTool:
    """Make the crewai tool from its options (paths confined) and adapt it."""
    space = env.workspace()
    if env.output_dir is not None:
        Path(env.output_dir).mkdir(parents=True, exist_ok=True)
    native = cls(**confine(space, args))
    schema = native.args_schema
    return CrewaiTool(
        name=snake_case(cls.__name__).lower(),
        description=space.unlabel(str(native.description)),
        args=schema,
        native=native,
        space=space,
    )
