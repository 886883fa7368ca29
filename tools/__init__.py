"""Tools agents may call, by name. The registry is empty until tools are built; a crew that
names a tool gets a clear error instead of an agent silently running without it."""

from __future__ import annotations

REGISTERED: dict[str, object] = {}


def registered_names() -> list[str]:
    return sorted(REGISTERED)
