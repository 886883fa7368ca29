"""What the command line prints for people and for programs: the name it was invoked by (for
help and hints), JSON on stdout, and tables that fit the terminal."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CANONICAL = "python main.py"  # how the library's own messages name the command


def program_name() -> str:
    """The command as the user typed it: `crewyard` (the installed script), `python -m
    crewyard`, or `python main.py` (also the answer in-process, e.g. under a test runner)."""
    launched = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if launched is None:
        return CANONICAL
    if launched.name == "__main__.py" and launched.parent.name == "crewyard":
        return "python -m crewyard"
    if launched.stem == "crewyard":  # bin/crewyard, Scripts\crewyard.exe
        return "crewyard"
    return CANONICAL


def named(text: str) -> str:
    """A message that says `python main.py …` (hints of the lower layers) as it was invoked."""
    name = program_name()
    return text if name == CANONICAL else text.replace(CANONICAL, name)


def print_json(data: Any) -> None:
    """One JSON document on stdout: what --json promises, and nothing else there."""
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def output_width() -> int | None:
    """How wide stdout's lines may be: the terminal's width (COLUMNS wins), or COLUMNS when
    piped and set; None — lines kept whole — when piped to a program or a file."""
    if _stdout_is_terminal():
        return shutil.get_terminal_size().columns
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else None


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def cut(text: str, width: int) -> str:
    """text in at most width characters, … marking what was cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + "…" if width > 0 else ""


def fit(line: str, width: int | None = None) -> str:
    """One line cut to the output's width (kept whole when piped)."""
    limit = output_width() if width is None else width
    return line if limit is None else cut(line, limit)


def table(
    rows: Sequence[Sequence[Any]],
    *,
    right: Sequence[int] = (),
    shrink: Sequence[int] = (),
    indent: str = "",
    width: int | None = None,
) -> list[str]:
    """Rows as aligned columns, two spaces apart. Too wide for the terminal, the columns in
    shrink (first ones first) lose characters to …, then each line is cut; piped, nothing is cut
    (a program reading it gets every character). right: the columns aligned right (numbers)."""
    cells = [[" ".join(str(cell).split()) for cell in row] for row in rows]
    if not cells:
        return []
    count = max(len(row) for row in cells)
    widths = [max((len(row[i]) for row in cells if i < len(row)), default=0) for i in range(count)]
    limit = output_width() if width is None else width
    if limit is not None:
        for column in shrink:
            over = len(indent) + sum(widths) + 2 * (count - 1) - limit
            if over <= 0:
                break
            widths[column] = max(widths[column] - over, min(widths[column], 8))
    lines = []
    for row in cells:
        parts = []
        for i, cell in enumerate(row):
            text = cut(cell, widths[i])
            last = i == len(row) - 1
            parts.append(
                text.rjust(widths[i]) if i in right else text if last else text.ljust(widths[i])
            )
        line = indent + "  ".join(parts)
        lines.append(line if limit is None else cut(line, limit))
    return lines
