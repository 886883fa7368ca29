"""What other packages plug in through Python entry points (`crewyard.engines`,
`crewyard.providers`, `crewyard.memory`, `crewyard.tools`). Reading the installed packages'
metadata costs ~50 ms, so each registry asks only when a name is not among its built-in and
registered entries, or when it must list them all."""

from __future__ import annotations

from typing import Any


def declared(group: str) -> list[Any]:
    """The entry points of group (each has .name and .load())."""
    from importlib.metadata import entry_points

    return list(entry_points(group=group))
