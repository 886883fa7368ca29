"""The Rich consoles crewyard prints progress on, all following one colour choice: `--color
auto|always|never` (auto: colour on a terminal, none with NO_COLOR set; FORCE_COLOR is Rich's
own), and animation only where a person watches a real terminal."""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console

ColorChoice = Literal["auto", "always", "never"]
COLOR_CHOICES: tuple[ColorChoice, ...] = ("auto", "always", "never")

_choice: ColorChoice = "auto"


def set_color(choice: ColorChoice) -> None:
    """What every console made from now on does about colour (the CLI's --color)."""
    global _choice
    if choice not in COLOR_CHOICES:
        raise ValueError(f"colour choice {choice!r} is not one of {', '.join(COLOR_CHOICES)}")
    _choice = choice


def color_choice() -> ColorChoice:
    return _choice


def make_console(*, stderr: bool = True, file: IO[str] | None = None) -> Console:
    """A console on stderr (or file) that colours as the choice says; off a terminal its lines
    are not wrapped at 80 columns (a log or a pipe keeps each line whole)."""
    from rich.console import Console  # here: a command that prints no progress loads no Rich

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    terminal = is_tty(stream)
    if _choice == "never" or (_choice == "auto" and os.environ.get("NO_COLOR")):
        # no styles at all: NO_COLOR's readers expect no escape codes, bold included
        return Console(file=stream, highlight=False, color_system=None, soft_wrap=not terminal)
    if _choice == "always":
        console = Console(file=stream, highlight=False, force_terminal=True, soft_wrap=not terminal)
        if console.color_system is None:  # TERM=dumb or unset: plain 16 colours still
            console = Console(
                file=stream,
                highlight=False,
                force_terminal=True,
                color_system="standard",
                soft_wrap=not terminal,
            )
        return console
    return Console(file=stream, highlight=False, soft_wrap=not terminal)


def is_tty(stream: IO[str]) -> bool:
    """A real terminal, whatever FORCE_COLOR or --color always make Rich believe."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-like stream
        return False


def animates(console: Console) -> bool:
    """A spinner or a status line updated in place: only on a real terminal, so a pipe, a log
    or CI gets the milestones as plain lines and no animation frames."""
    return is_tty(console.file)
