"""python main.py runs answer RUN_ID [TEXT | --default]: answer the question a parked run
waits on, then resume it (as --resume RUN_ID does) with the answer in place."""

from __future__ import annotations

import argparse
import sys

from crewyard.cli.output import program_name
from crewyard.errors import ConfigError, ExitCode


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} runs answer",
        description="Answer a run waiting for input, and resume it.",
    )
    p.add_argument("run_id", help="the waiting run's id (or a unique prefix)")
    p.add_argument("text", nargs="?", help='the answer ("" accepts the work as it is)')
    p.add_argument("--default", action="store_true", help="take the crew's default answer")
    p.add_argument(
        "--no-resume", action="store_true", help="only record the answer (resume it later)"
    )
    return p


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if (args.text is None) == (not args.default):
        raise ConfigError(
            "give the answer, or --default (not both)",
            hint=f'{program_name()} runs answer {args.run_id} "Approve, but shorten section 2"',
        )
    from crewyard.human.answers import give_answer
    from crewyard.settings import Settings

    asked = give_answer(Settings.for_command_line(), args.run_id, args.text)
    print(f"answered {asked.run_id}: {asked.prompt}", file=sys.stderr)
    if args.no_resume:
        print(f"resume it with: {program_name()} --resume {asked.run_id}", file=sys.stderr)
        return ExitCode.OK
    from crewyard.cli import run as run_command

    return run_command.run(["--resume", asked.run_id])
