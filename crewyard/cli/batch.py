"""python main.py batch …: a crew over many inputs, durably — run, status, resume, list."""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from crewyard.cli.args import positive_float, positive_int
from crewyard.cli.output import print_json, program_name, table
from crewyard.errors import ConfigError, ExitCode
from crewyard.observe import spans


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} batch",
        description="Run a crew once per item of a JSONL, CSV or YAML/JSON list file; each item "
        "runs once, however often the batch is resumed. `batch status ID`, `batch resume ID`, "
        "`batch list`.",
    )
    p.add_argument("action", nargs="?", choices=["run", "status", "resume", "list"], default="run")
    p.add_argument("batch_id", nargs="?", help="for status and resume: the batch (or a prefix)")
    p.add_argument("--crew", help="the crew each item runs")
    p.add_argument("--inputs", type=Path, metavar="FILE", help="the items: .jsonl, .csv, .yaml")
    p.add_argument("--concurrency", type=positive_int, default=4, help="items at once (4)")
    p.add_argument("--rate", type=positive_float, metavar="N", help="at most N items a minute")
    p.add_argument("--budget-tokens", type=positive_int, metavar="N", help="no new item after N")
    p.add_argument("--budget-usd", type=positive_float, metavar="X", help="no new item after $X")
    p.add_argument("--out", type=Path, metavar="FILE", help="results as JSON lines, as they finish")
    p.add_argument("--model", action="append", default=[], metavar="ALIAS=MODEL")
    p.add_argument(
        "--detach",
        action="store_true",
        help=f"only queue the batch: `{program_name()} worker` processes run it",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def run(argv: list[str]) -> int:
    from crewyard.settings import Settings

    args = parser().parse_intermixed_args(argv)
    settings = Settings.for_command_line()
    if args.action == "list":
        return _list(settings, args.json)
    if args.action in ("status", "resume") and not args.batch_id:
        raise ConfigError(f"batch {args.action} needs a batch id", hint="see: batch list")
    from crewyard.durable.batch import batch_status

    if args.action == "status":
        return _report(batch_status(settings, args.batch_id), args.json)
    from crewyard.observe.logs import configure

    configure("WARNING")
    if args.action == "resume":
        from crewyard.durable.batch import resume_batch

        return _finish(lambda p, stop: resume_batch(settings, args.batch_id, p, stop), args.json)
    return _start(settings, args)


def _start(settings: Any, args: argparse.Namespace) -> int:
    from crewyard import engines
    from crewyard.crews import load_crew
    from crewyard.durable.batch import run_batch
    from crewyard.durable.items import read_items
    from crewyard.gateway.config import ModelTable, parse_model_overrides

    if not args.crew or not args.inputs:
        raise ConfigError(
            "a batch needs --crew and --inputs",
            hint=f"{program_name()} batch --crew research --inputs topics.csv --out results.jsonl",
        )
    spec = load_crew(args.crew, settings.crews_dir, engines.processes())
    items = read_items(args.inputs, spec)
    overrides = parse_model_overrides(args.model)
    ModelTable.load(settings.models_file, overrides)  # a bad override stops it before it starts
    batch = functools.partial(
        run_batch,
        settings,
        spec,
        items,
        concurrency=args.concurrency,
        rate=args.rate,
        max_tokens=args.budget_tokens,
        max_cost_usd=args.budget_usd,
        out=args.out,
        models=overrides,
        source=args.inputs,
    )
    if args.detach:
        from crewyard.durable import engine

        queued = batch(detach=True)
        engine.shutdown()
        if args.json:
            print_json({"batch_id": queued.batch_id, "crew": spec.name, "queued": len(items)})
            return ExitCode.OK
        print(f"batch {queued.batch_id} queued: {len(items)} items for the workers")
        print(f"  follow it: {program_name()} batch status {queued.batch_id}")
        return ExitCode.OK
    return _finish(lambda p, stop: batch(progress=p, stop=stop), args.json)


def _finish(start: Any, as_json: bool) -> int:
    """Run the batch with a live line. Ctrl-C stops at once (what ran is kept; exit 130);
    SIGTERM stops taking items, lets those under way finish, and exits 0."""
    from crewyard.durable import engine
    from crewyard.observe.progress import BatchProgress

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    with BatchProgress() as progress:
        result = start(progress, stop)
    if result.interrupted:
        asked = stop.is_set()
        print(
            f"{'stopped' if asked else 'interrupted'}: {program_name()} batch resume "
            f"{result.batch_id} runs what is left",
            file=sys.stderr,
        )
        if asked:
            _report(result, as_json)
        sys.stdout.flush()
        sys.stderr.flush()
        spans.flush()  # os._exit skips the exporters' flush at exit
        # the durable engine's threads (and items parked unstarted) stay behind
        os._exit(ExitCode.OK if asked else ExitCode.INTERRUPTED)
    engine.shutdown()
    return _report(result, as_json)


def _report(result: Any, as_json: bool) -> int:
    c = result.counts
    if as_json:
        data = {"batch_id": result.batch_id, "crew": result.crew, "status": result.status}
        print_json({**data, "counts": c, "items": result.records()})
    else:
        print(
            f"batch {result.batch_id} · {result.crew} · {result.status}: {c['done']} done, "
            f"{c['failed']} failed, {c['skipped']} skipped, {c['running']} running, "
            f"{c['queued']} queued of {c['items']} · {c['tokens']} tokens · ${c['cost_usd']:.4f}"
        )
        for item in result.items:
            if item.status in ("failed", "skipped"):
                print(f"  {item.status} {item.item_id}: {(item.error or '')[:200]}")
        if result.out:
            print(f"results: {result.out}")
    return ExitCode.OK if c["done"] == c["items"] else ExitCode.FAILED


def _list(settings: Any, as_json: bool) -> int:
    from crewyard.runs.batches import BatchStore

    store = BatchStore(settings.run_store)
    batches = store.recent()
    if as_json:
        print_json([{**vars(b), "counts": store.counts(b.id)} for b in batches])
        return ExitCode.OK
    if not batches:
        print(f"no batches yet: {program_name()} batch --crew NAME --inputs FILE")
    rows = []
    for b in batches:
        c = store.counts(b.id)
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(b.created_at))
        rows.append((b.id, b.crew, b.status, f"{c['done']}/{c['items']} done", when))
    for line in table(rows, right=(3,), shrink=(1,)):
        print(line)
    return ExitCode.OK
