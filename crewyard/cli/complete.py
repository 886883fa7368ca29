"""python main.py __complete crews|runs|batches|aliases: the names shell completion offers, one
a line. Hidden and quick: it imports no engine and no model library, creates no file, and says
nothing at all when something is wrong (a completion must never print an error into a prompt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewyard.errors import ExitCode

KINDS = ("crews", "runs", "batches", "aliases")
RECENT = 50  # run and batch ids offered, newest first


def answer(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in KINDS:
        return ExitCode.BAD_INPUT
    try:
        from crewyard.settings import Settings

        names = _names(argv[0], Settings.for_command_line())
    except Exception:  # an unreadable store or file completes nothing
        return ExitCode.OK
    if names:
        print("\n".join(names))
    return ExitCode.OK


def _names(kind: str, settings: Any) -> list[str]:
    if kind == "crews":
        from crewyard.crews.loader import discover

        return discover(settings.crews_dir)
    if kind == "aliases":
        return _aliases(settings.models_file)
    store = settings.run_store
    if isinstance(store, Path) and not store.is_file():  # no run yet: make no database
        return []
    if kind == "runs":
        from crewyard.runs.store import RunStore

        runs = RunStore(store)
        try:
            return [r.id for r in runs.recent(RECENT)]
        finally:
            runs.close()
    from crewyard.runs.batches import BatchStore

    batches = BatchStore(store)
    try:
        return [b.id for b in batches.recent(RECENT)]
    finally:
        batches.close()


def _aliases(models_file: Path) -> list[str]:
    """The aliases models.yaml declares, read as plain YAML (the gateway is not loaded)."""
    from crewyard.crews.yamlfile import read_yaml

    data = read_yaml(models_file).data
    aliases = data.get("aliases") if isinstance(data, dict) else None
    return sorted(str(name) for name in aliases) if isinstance(aliases, dict) else []
