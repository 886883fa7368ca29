"""python main.py schedule list: the schedules of every crew, their next fire times and what
their last firing became (a worker fires them: python main.py worker)."""

from __future__ import annotations

import argparse

from crewyard.cli.args import positive_int
from crewyard.cli.output import fit, print_json, program_name
from crewyard.errors import ExitCode


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} schedule",
        description=f"The `schedules:` of crew.yaml files; `{program_name()} worker` fires them.",
    )
    p.add_argument("action", nargs="?", choices=["list"], default="list")
    p.add_argument("--next", type=positive_int, default=3, metavar="N", help="fire times shown")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def run(argv: list[str]) -> int:
    from crewyard.durable.schedules import listing
    from crewyard.settings import Settings

    args = parser().parse_args(argv)
    rows, broken = listing(Settings.for_command_line(), args.next)
    if args.json:
        print_json({"schedules": rows, "broken": broken})
        return ExitCode.OK
    if not rows:
        print("no schedules: add `schedules:` to a crew.yaml (see the README)")
    for row in rows:
        print(
            fit(
                f"{row['schedule']}  crew {row['crew']}  cron '{row['cron']}' {row['timezone']}  "
                f"overlap {row['overlap']}, catch_up {row['catch_up']}"
            )
        )
        print(fit(f"    next: {', '.join(row['next'])}"))
        last = row["last"]
        if last:
            note = f" ({last['note']})" if last["note"] else ""
            print(fit(f"    last: {last['fired_for']} {last['status']}{note}"))
    for problem in broken:
        print(fit(f"broken crew {' '.join(str(problem).split())}"))
    return ExitCode.OK
