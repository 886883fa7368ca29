"""python main.py --crew NAME: run a crew; --list and --dry-run import no engine and no model
library, so they answer at once."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from crewyard.cli.args import positive_float, positive_int
from crewyard.cli.output import named, program_name
from crewyard.errors import ConfigError, ExitCode


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=program_name(),
        description="Run a crew declared under crews/. Other commands: "
        "`schema` (JSON Schema of crew files and models.yaml), `runs` (list runs), "
        "`runs show ID`, `runs cost`, `memory` (stats, list, search, show, forget, reset), "
        "`completion bash|zsh` (shell completion).",
    )
    p.add_argument("--crew", help="name of the crew folder under crews/")
    p.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a crew input; repeat for several",
    )
    p.add_argument(
        "--inputs-file",
        type=Path,
        metavar="FILE",
        help="JSON or YAML file with the inputs (--input values win)",
    )
    p.add_argument("--list", action="store_true", help="list crews with their inputs")
    p.add_argument("--json", action="store_true", help="with --list: the crews as JSON")
    p.add_argument(  # read by crewyard.cli before any parser: it goes with every command
        "--color",
        choices=["auto", "always", "never"],
        default="auto",
        help="colour on stderr's progress: auto (on a terminal, not with NO_COLOR), always, "
        "never; every command takes it",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="check the crew and print the plan; no model is called",
    )
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="ALIAS=MODEL",
        help="point a models.yaml alias at another LiteLLM model string",
    )
    p.add_argument("--output", type=Path, metavar="PATH", help="also write the final output here")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="call the models even for requests answered before",
    )
    taping = p.add_mutually_exclusive_group()
    taping.add_argument(
        "--record",
        action="store_true",
        default=None,
        help="keep every model request and reply of the run as a cassette (the default; "
        "CREWYARD_RECORD=false turns it off)",
    )
    taping.add_argument(
        "--no-record",
        dest="record",
        action="store_false",
        help="keep no cassette of this run (it can then be resumed only task by task)",
    )
    p.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="continue a run that stopped (killed, failed, out of budget, Ctrl-C): its "
        "finished tasks keep their outputs, its recorded calls are not paid again",
    )
    p.add_argument(
        "--from",
        dest="from_task",
        metavar="TASK",
        help="with --resume: rerun from this task, keeping the outputs of the tasks before it",
    )
    p.add_argument(
        "--replay",
        metavar="RUN_ID",
        help="run a recorded run again from its cassette (or a cassette file) without calling "
        "any model; a request that differs from the recording fails with a diff. Crew and "
        "inputs come from the recording unless given",
    )
    p.add_argument(
        "--budget-tokens",
        type=positive_int,
        metavar="N",
        help="stop the run cleanly before it spends more than N tokens",
    )
    p.add_argument(
        "--budget-usd",
        type=positive_float,
        metavar="X",
        help="stop the run cleanly once it has spent X dollars",
    )
    p.add_argument(
        "--stream",
        action="store_true",
        help="print each agent's reply on stderr as the model generates it",
    )
    loud = p.add_mutually_exclusive_group()
    loud.add_argument(
        "-v", "--verbose", action="store_true", help="every event of the run on the console"
    )
    loud.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    return p


def run(argv: list[str]) -> int:
    """python main.py --crew NAME … (and --list, --dry-run, --replay)."""
    return _run(parser().parse_args(argv))


def _settings_and_logs(args: argparse.Namespace) -> Any:
    from crewyard.observe.logs import configure
    from crewyard.settings import Settings

    settings = Settings.for_command_line()
    level = "TRACE" if args.verbose else "WARNING" if args.quiet else settings.log_level
    configure(level)
    if args.verbose:  # the run's spans on stderr too (OTEL_TRACES_EXPORTER, if set, decides)
        from crewyard.observe.spans import enable_console

        enable_console()
    return settings


def _run(args: argparse.Namespace) -> int:
    from crewyard import crews, engines

    settings = _settings_and_logs(args)
    if args.no_cache:
        settings = settings.model_copy(update={"cache": False})
    if args.list:
        from crewyard.cli.crews_list import print_crews

        return print_crews(settings.crews_dir, args.json)
    if args.json:
        raise ConfigError("--json goes with --list", key="--json", hint="--list --json")
    if args.replay and args.resume:
        raise ConfigError("--replay and --resume do not go together", hint="drop one of them")
    if args.from_task and not args.resume:
        raise ConfigError("--from TASK goes with --resume RUN_ID", key="--from")
    if not args.crew and not args.replay and not args.resume:
        parser().print_usage(sys.stderr)
        print("error: give --crew NAME (see --list)", file=sys.stderr)
        return ExitCode.BAD_INPUT
    from crewyard.crews.inputs import parse_pairs, read_inputs_file, resolve_inputs
    from crewyard.gateway.config import ModelTable, parse_model_overrides

    crew = args.crew or (
        _resumed_crew(settings, args.resume)
        if args.resume
        else _recorded_crew(settings, args.replay)
    )
    spec = crews.load_crew(crew, settings.crews_dir, engines.processes())
    if args.budget_tokens is not None or args.budget_usd is not None:
        budget = spec.budget.model_copy(
            update={
                k: v
                for k, v in (("max_tokens", args.budget_tokens), ("max_cost_usd", args.budget_usd))
                if v is not None
            }
        )
        spec = spec.model_copy(update={"budget": budget})
    given: dict[str, Any] = read_inputs_file(args.inputs_file) if args.inputs_file else {}
    given.update(parse_pairs(args.input))
    overrides = parse_model_overrides(args.model)
    if args.output is not None:
        _check_output(args.output)
    if args.dry_run:
        from crewyard.plan import plan

        inputs = resolve_inputs(spec, given, warn=lambda w: print(f"warning: {w}", file=sys.stderr))
        return _print_plan(plan(spec, ModelTable.load(settings.models_file, overrides)), inputs)
    return _execute(settings, spec, given, overrides, args)


def _check_output(path: Path) -> None:
    """--output must name a file that can be written, checked before the run starts."""
    from crewyard.settings import usable_folder

    if path.is_dir():
        raise ConfigError(
            f"--output {path} is a folder", hint=f"name a file in it, e.g. {path / 'report.md'}"
        )
    usable_folder(path.parent, "the folder of", key="--output")


def _resumed_crew(settings: Any, run_id: str) -> str:
    from crewyard.runs.store import RunStore

    store = RunStore(settings.run_store)
    try:
        return store.get(run_id).crew
    finally:
        store.close()


def _recorded_crew(settings: Any, replay: str) -> str:
    from crewyard.runs.replay import recorded_crew

    return recorded_crew(settings, replay)


def _execute(
    settings: Any,
    spec: Any,
    given: dict[str, Any],
    overrides: dict[str, str],
    args: argparse.Namespace,
) -> int:
    from crewyard.cli.stopping import ctrl_c_stops, exit_now
    from crewyard.dispatcher import Dispatcher, RunFailed, RunWaiting
    from crewyard.human.terminal import TerminalHuman
    from crewyard.observe.progress import Progress
    from crewyard.outcome import RunInterrupted
    from crewyard.runs.events import Listener
    from crewyard.runs.files import write_atomic

    # a person at the terminal answers the run's questions; elsewhere a question parks it
    person = TerminalHuman() if sys.stdin.isatty() else None
    with Progress(stream=args.stream, quiet=args.quiet) as progress:
        listeners: list[Listener] = [] if args.quiet and not args.stream else [progress]
        dispatcher = Dispatcher(
            settings, model_overrides=overrides, listeners=listeners, human=person
        )
        try:
            with ctrl_c_stops(dispatcher.interrupt) as ctrl_c:
                result = dispatcher.run(
                    spec,
                    given,
                    record=args.record,
                    replay=args.replay,
                    resume=args.resume,
                    from_task=args.from_task,
                )
        except RunInterrupted as exc:
            _kept(f"interrupted: {exc}", exc.result, resumable=True)
            if ctrl_c.signals:  # a real Ctrl-C (not a test's): the user waits for the prompt
                progress.__exit__(None, None, None)
                exit_now(ExitCode.INTERRUPTED)
            return ExitCode.INTERRUPTED
        except RunWaiting as exc:
            waiting = exc.result
            print(
                f"{named(str(exc))}\nanswer it with: {program_name()} runs answer {waiting.run_id} "
                '"your answer" (the run then goes on from where it stopped)',
                file=sys.stderr,
            )
            return ExitCode.WAITING
        except RunFailed as exc:
            _kept(f"error: {exc}", exc.result)
            return ExitCode.FAILED
    print(result.output)
    if args.output:
        try:
            write_atomic(args.output, result.output)
        except OSError as exc:  # the run and its outputs are kept in the run store
            print(
                f"error: --output {args.output} could not be written ({exc.strerror or exc}); "
                f"the output is kept: {program_name()} runs show {result.run_id}",
                file=sys.stderr,
            )
            return ExitCode.FAILED
    u = result.usage
    err = sys.stderr
    print(
        f"\n── {result.crew} · run {result.run_id} · {result.status} in {result.duration_s:.1f} s",
        file=err,
    )
    print(
        f"tokens: {u['total_tokens']} ({u['prompt_tokens']} prompt + "
        f"{u['completion_tokens']} completion) in {u['calls']} model calls · "
        f"cost ${result.cost:.4f}",
        file=err,
    )
    for note in result.notes:
        print(f"note: {note}", file=err)
    for path in result.output_files:
        print(f"report: {Path(result.output_dir or '') / path}", file=err)
    if args.output:
        print(f"output: {args.output}", file=err)
    if result.cassette and args.record:
        print(f"cassette: {result.cassette} ({program_name()} --replay {result.run_id})", file=err)
    if result.resume_of:
        print(
            f"resumed run {result.resume_of}: kept {', '.join(result.kept) or 'no task'}; "
            f"reused {u.get('replayed_calls', 0)} recorded model calls",
            file=err,
        )
    if result.replay_of:
        replayed = u.get("replayed_calls", 0)
        print(f"replayed {replayed} model calls of run {result.replay_of}; none was made", file=err)
    print(
        f"run record: {dispatcher.store.where} ({program_name()} runs show {result.run_id})",
        file=err,
    )
    print(f"log: {result.log_file}", file=err)
    return ExitCode.OK


def _kept(headline: str, result: Any, resumable: bool = False) -> None:
    """What a run that stopped early kept, and where to see it (or go on with it)."""
    saved = [t.task for t in result.task_outputs]
    then = f"go on: {program_name()} --resume" if resumable else f"see: {program_name()} runs show"
    print(
        f"{named(headline)}\nkept {len(saved)} finished task output(s): "
        f"{', '.join(saved) or 'none'}; {then} {result.run_id}",
        file=sys.stderr,
    )


def _print_plan(the_plan: Any, inputs: dict[str, Any]) -> int:
    print(f"crew: {the_plan.crew}")
    print(f"engine: {the_plan.engine} ({the_plan.process}) — {the_plan.reason}")
    print(f"inputs: {json.dumps(inputs, ensure_ascii=False)}")
    if the_plan.options:
        print(f"engine options: {json.dumps(the_plan.options, ensure_ascii=False)}")
    print("agents:")
    for agent, alias in the_plan.agents.items():
        print(f"  {agent}: model {alias} → {the_plan.models.get(alias, alias)}")
    if the_plan.manager:
        print(f"manager: {the_plan.manager}")
    if the_plan.strategy:
        print(f"how: {the_plan.strategy}")
    print("tasks, in order:")
    for i, (task, agent) in enumerate(the_plan.tasks, 1):
        how = (the_plan.assigned or {}).get(task)
        print(f"  {i}. {task} ({agent}{f' — {how}' if how else ''})")
    if the_plan.tools:
        print("tools:")
        for who, names in the_plan.tools.items():
            print(f"  {who}: {', '.join(names)}")
    if the_plan.servers:
        print("MCP servers (their tools are listed once started; a dry run starts none):")
        for server, how in the_plan.servers.items():
            print(f"  {server}: {how}")
    for warning in the_plan.warnings:
        print(f"warning: {warning}")
    print("dry run: no model was called")
    return ExitCode.OK
