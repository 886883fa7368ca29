"""A crew's own tools.py: its @tool functions, imported only when one of them is named, as a
module whose name is private to its path (nothing is added to sys.path; two crews' tools
never clash), and refused when the file leads outside the crew's folder."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import threading
from pathlib import Path
from types import ModuleType

from crewyard.tools.spec import Tool, ToolSpec

TOOLS_FILE = "tools.py"
_loaded: dict[Path, tuple[int, dict[str, Tool]]] = {}
_lock = threading.Lock()


class CrewToolsProblem(Exception):
    """tools.py is outside the crew folder or fails to import."""


def has_tools_file(crew_dir: Path) -> bool:
    return (crew_dir / TOOLS_FILE).is_file()


def crew_tools(crew_dir: Path) -> dict[str, Tool]:
    """The Tools crew_dir/tools.py defines (module-level ToolSpecs, by their names)."""
    path = (crew_dir / TOOLS_FILE).resolve()
    if crew_dir.resolve() not in path.parents:
        raise CrewToolsProblem(f"{crew_dir / TOOLS_FILE} leads outside the crew's folder")
    mtime = path.stat().st_mtime_ns
    with _lock:
        cached = _loaded.get(path)
        if cached is not None and cached[0] == mtime:
            return cached[1]
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
        crew = re.sub(r"\W", "_", crew_dir.name)
        name = f"_crewyard_tools_{crew}_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # pydantic resolves annotations through it
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise CrewToolsProblem(f"{path} raised {type(exc).__name__} on import: {exc}") from exc
        found: dict[str, Tool] = {
            v.name: v for v in vars(module).values() if isinstance(v, ToolSpec)
        }
        _loaded[path] = (mtime, found)
        return found
