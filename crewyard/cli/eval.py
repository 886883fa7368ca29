"""python main.py eval --crew NAME --cases FILE [--runs N] [--threshold X] [--json]: run each
case of a cases file N times and check the outputs; exit 1 below the threshold."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from crewyard.cli.args import positive_int
from crewyard.cli.output import fit, print_json, program_name, table
from crewyard.errors import ConfigError, ExitCode


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} eval", description="Evaluate a crew on a file of cases."
    )
    p.add_argument("--crew", required=True, help="the crew to evaluate")
    p.add_argument("--cases", required=True, type=Path, help="cases.yaml (see README)")
    p.add_argument("--runs", type=positive_int, help="runs of each case (default: the file's)")
    p.add_argument("--threshold", type=float, help="pass rate to reach, 0 to 1 (the file's)")
    p.add_argument("--model", action="append", default=[], help="ALIAS=MODEL override")
    p.add_argument("--json", action="store_true", help="machine-readable report on stdout")
    return p


def run(argv: list[str]) -> int:
    from crewyard import engines
    from crewyard.crews import load_crew
    from crewyard.dispatcher import Dispatcher
    from crewyard.evals import evaluate, load_cases, overall
    from crewyard.gateway.config import parse_model_overrides
    from crewyard.observe.logs import configure
    from crewyard.settings import Settings

    args = parser().parse_args(argv)
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise ConfigError(f"--threshold {args.threshold} is not between 0 and 1")
    settings = Settings.for_command_line()
    spec = load_crew(args.crew, settings.crews_dir, engines.processes())
    cases = load_cases(args.cases, spec)
    threshold = cases.threshold if args.threshold is None else args.threshold
    configure("WARNING")
    overrides = parse_model_overrides(args.model)
    with Dispatcher(settings, model_overrides=overrides) as dispatcher:
        results = evaluate(
            dispatcher, spec, cases, args.runs, said=lambda line: print(line, file=sys.stderr)
        )
    rate = overall(results)
    verdict = "passed" if rate >= threshold else "failed"
    if args.json:
        report = {
            "crew": spec.name,
            "pass_rate": rate,
            "threshold": threshold,
            "passed": rate >= threshold,
            "cases": [{**asdict(r), "rate": r.rate} for r in results],
        }
        print_json(report)
    else:
        rows = [("case", "passed", "rate", "tokens", "cost")]
        rows += [
            (r.name, f"{r.passed}/{r.runs}", f"{r.rate:.0%}", str(r.tokens), f"${r.cost_usd:.4f}")
            for r in results
        ]
        for line, result in zip(
            table(rows, right=(1, 2, 3, 4), shrink=(0,)), [None, *results], strict=True
        ):
            print(line)
            for run_id, why in result.failures if result else ():
                print(fit(f"  ✗ {run_id}: {why}"))
        print(f"overall {rate:.0%} (threshold {threshold:.0%}): {verdict}")
    return ExitCode.OK if rate >= threshold else ExitCode.FAILED
