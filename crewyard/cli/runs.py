"""python main.py runs [list | show RUN_ID [--transcript] [--follow] | cost]: the run store from
the shell."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from crewyard.cli.args import positive_float, positive_int
from crewyard.cli.output import print_json, program_name, table
from crewyard.errors import ConfigError, ExitCode


def run(argv: list[str]) -> int:
    # intermixed: `runs show --json ID` and `runs show ID --json` alike
    return _runs(parser().parse_intermixed_args(argv))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"{program_name()} runs", description="Runs in the run store.")
    p.add_argument("action", nargs="?", choices=["list", "show", "cost"], default="list")
    p.add_argument("run_id", nargs="?", help="run id (or a unique prefix) for `show`")
    p.add_argument("--crew", help="only runs of this crew")
    p.add_argument("--limit", type=positive_int, default=20, help="how many runs to list")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--by",
        choices=["crew", "model", "agent", "day"],
        action="append",
        help="for `cost`: how to group (repeat; default: all four)",
    )
    p.add_argument("--since-days", type=positive_float, help="for `cost`: only the last N days")
    p.add_argument(
        "--transcript",
        action="store_true",
        help="for `show`: every agent turn in order (agent, model, tokens, text)",
    )
    p.add_argument(
        "--follow",
        action="store_true",
        help="for `show`: tail a running run (events and turns as they are stored) until it "
        "ends; with --transcript, its turns only. Ctrl-C stops following",
    )
    return p


def _runs(args: argparse.Namespace) -> int:
    from crewyard.runs.store import RunStore
    from crewyard.settings import Settings

    if (args.follow or args.transcript) and args.action != "show":
        flag = "--follow" if args.follow else "--transcript"
        raise ConfigError(
            f"{flag} is for one run", hint=f"{program_name()} runs show RUN_ID {flag}"
        )
    settings = Settings.for_command_line()
    store = RunStore(settings.run_store)
    if args.action == "show":
        if not args.run_id:
            raise ConfigError("runs show needs a run id", hint=f"{program_name()} runs show RUN_ID")
        if args.follow and args.json:  # a stream of lines, not one document
            raise ConfigError("--follow prints lines as they come, not JSON", key="--json")
        if args.follow or args.transcript:
            from crewyard.cli import follow

            if args.follow:
                return follow.follow(
                    store, args.run_id, settings.cassettes_dir, turns_only=args.transcript
                )
            return follow.print_transcript(store, args.run_id, settings.cassettes_dir, args.json)
        return _show_run(store, args.run_id, args.json, settings.cassettes_dir)
    if args.action == "cost":
        return _costs(
            store, args.by or ["crew", "model", "agent", "day"], args.since_days, args.json
        )
    runs = store.recent(args.limit, args.crew)
    if args.json:
        print_json([vars(r) for r in runs])
        return ExitCode.OK
    if not runs:
        print(f'no runs yet: {program_name()} --crew research --input topic="…"')
    rows = [
        (
            r.id,
            r.crew,
            r.status,
            f"{r.finished_at - r.started_at:.1f} s" if r.finished_at else "…",
            f"{r.usage.get('total_tokens', 0)} tokens",
            f"${r.cost_usd:.4f}",
        )
        for r in runs
    ]
    print("\n".join(table(rows, right=(3, 4, 5), shrink=(1,))), end="\n" if rows else "")
    return ExitCode.OK


def _show_run(store: Any, run_id: str, as_json: bool, cassettes_dir: Path) -> int:
    from crewyard.runs.planning_view import planning_lines

    run = store.get(run_id)
    checkpoints = store.checkpoints(run.id)
    cassette = cassettes_dir / f"{run.id}.jsonl"
    if as_json:
        data = {
            **vars(run),
            "cassette": str(cassette) if cassette.is_file() else None,
            "task_outputs": [vars(c) for c in checkpoints],
            "model_calls": store.model_calls(run.id),
        }
        print_json(data)
        return ExitCode.OK
    print(f"run {run.id} · crew {run.crew} · {run.engine} · {run.status}")
    print(f"inputs: {json.dumps(run.inputs, ensure_ascii=False)}")
    print(
        f"tokens: {run.usage.get('total_tokens', 0)} in {run.usage.get('calls', 0)} calls · "
        f"cost ${run.cost_usd:.4f}"
    )
    if run.error:
        print(f"error: {run.error}")
    print(f"outputs: {run.output_dir}\nlog: {run.log_file}")
    if run.replay_of:
        print(f"replay of: {run.replay_of}")
    started: dict[str, Any] = next((d for k, d in store.events(run.id) if k == "run_started"), {})
    if started.get("resume_of"):
        kept = ", ".join(started.get("kept") or []) or "no task"
        again = f", rerun from {started['from_task']}" if started.get("from_task") else ""
        print(f"resume of: {started['resume_of']} (kept {kept}{again})")
    if cassette.is_file():
        print(f"cassette: {cassette} (replay it: {program_name()} --replay {run.id})")
    # a run that went right answered from a recording: the recording's failures are not its own
    _print_what_went_wrong(
        store, run.id, recorded_too=run.status != "done", replayed_all=bool(run.replay_of)
    )
    if planned := planning_lines(store.events(run.id)):
        print("\nhow it planned:\n" + "\n".join(planned))
    for c in checkpoints:
        saved = f" → {c.output_file}" if c.output_file else ""
        print(f"\n## {c.task} ({c.agent}){saved}\n\n{c.output}")
    return ExitCode.OK


def _print_what_went_wrong(
    store: Any, run_id: str, *, recorded_too: bool = True, replayed_all: bool = False
) -> None:
    """Failed attempts, routing and fallbacks, tools switched off, guardrail retries. A call
    answered from a cassette (--replay, --resume) repeats what the recorded run went through:
    its recorded failure is listed, marked, only when recorded_too (this run did not succeed);
    so are the guardrail failures of a replay (replayed_all), whose every reply is recorded."""
    from crewyard.runs.events import EventKind

    lines = []
    for c in store.model_calls(run_id):
        who = " · ".join(x for x in (c["task"], c["agent"]) if x)
        if c["replayed"] and not recorded_too:
            continue
        if c["error"]:
            again = " (as recorded)" if c["replayed"] else ""
            lines.append(
                f"attempt {c['attempt']} on {c['alias']} failed{again} ({who}): {c['error']}"
            )
        elif c["note"] and not c["replayed"]:  # a call answered from a cassette went right
            lines.append(f"{c['alias']} answered ({who}): {c['note']}")
    for kind, data in store.events(run_id):
        if kind == EventKind.TOOL_DISABLED:
            lines.append(f"tool {data['tool']} switched off: {data['reason']}")
        elif kind == EventKind.GUARDRAIL_FAILED and (recorded_too or not replayed_all):
            lines.append(
                f"guardrails of {data.get('task')} failed on attempt {data.get('attempt')}: "
                + "; ".join(map(str, data.get("reasons", [])))
            )
    if lines:
        print("\nwhat went wrong along the way:")
        print("\n".join(f"  - {line[:300]}" for line in lines))


def _costs(store: Any, groups: list[str], since_days: float | None, as_json: bool) -> int:
    from crewyard.runs.costs import cost_report

    report = {by: cost_report(store, by, since_days) for by in groups}
    if as_json:
        print_json(report)
        return ExitCode.OK
    for by, rows in report.items():
        print(f"by {by}:")
        if not rows:
            print("  (no model calls yet)")
        cells = []
        for r in rows:
            tokens = (r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0)
            saved = (
                f"{r['cache_hits']} cache hits saved {r['tokens_saved']} tokens"
                f" (${r['cost_saved'] or 0:.4f})"
                if r["cache_hits"]
                else ""
            )
            cells.append(
                (
                    r[by],
                    f"${r['cost_usd'] or 0:.4f}",
                    f"{tokens} tokens",
                    f"{r['calls']} calls",
                    saved,
                )
            )
        for line in table(cells, right=(1, 2, 3), shrink=(0, 4), indent="  "):
            print(line.rstrip())
    return ExitCode.OK
