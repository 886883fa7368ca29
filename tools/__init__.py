"""Tools agents may call, in one registry: the built-in ones (tools/builtin.py), tools registered
with `register(tool)`, and tools other packages add through the `crewyard.tools` entry point
group (each entry: a Tool, or a list of them). A crew names tools in agents.yaml / tasks.yaml;
an unknown name is a load error. The memory tools are bound to each run by the dispatcher.
tools/resolve.py adds the other sources: factory built-ins (files.py, net.py), the crew's own
tools.py, and crewai-tools by name."""

from __future__ import annotations

from crewyard import plugins
from crewyard.tools.builtin import BUILTIN
from crewyard.tools.spec import Tool, ToolSpec, tool

ENTRY_POINTS = "crewyard.tools"
_registered: dict[str, Tool] = {}
_plugins_loaded = False


def register(found: Tool) -> None:
    """Make a tool available to every crew by its name."""
    _registered[found.name] = found


def _load_plugins() -> None:
    global _plugins_loaded
    if not _plugins_loaded:
        _plugins_loaded = True
        for entry in plugins.declared(ENTRY_POINTS):
            loaded = entry.load()
            for one in loaded if isinstance(loaded, list | tuple) else [loaded]:
                register(one)


def registered() -> dict[str, Tool]:
    """Every tool by name: built-in, registered, then plugins (a later name wins)."""
    _load_plugins()
    return {**{t.name: t for t in BUILTIN}, **_registered}


def is_registered(name: str) -> bool:
    """A tool by this name exists (plugins are looked for only when it is not built in or
    registered in code)."""
    if name in _registered or any(t.name == name for t in BUILTIN):
        return True
    return name in registered()


def registered_names() -> list[str]:
    return sorted(registered())


__all__ = [
    "Tool",
    "ToolSpec",
    "is_registered",
    "register",
    "registered",
    "registered_names",
    "tool",
]
