"""python main.py …: one module per command group — run (the default: run a crew, --list,
--dry-run), new, batch, worker, schedule, runs, ui, memory, schema, completion. Each is imported
only when its command is given, so the quick commands import no engine and no model library.
`--color auto|always|never` goes with every command, anywhere before `--`."""

from __future__ import annotations

import os
import sys

from crewyard.cli.output import named
from crewyard.errors import ConfigError, CrewyardError, ExitCode


def main(argv: list[str] | None = None) -> int:
    """Run one command; its exit code (see crewyard.errors.ExitCode)."""
    try:
        code = _command(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()
        return int(code)
    except BrokenPipeError:
        # the reader went away (`… | head`): stop quietly, as any writer to a pipe does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return int(ExitCode.CLOSED_OUTPUT)


def _command(args: list[str]) -> int:
    try:
        args = _take_color(args)
        if args[:1] == ["__complete"]:  # what the shell completion asks, as fast as it can
            from crewyard.cli import complete

            return complete.answer(args[1:])
        if args[:1] == ["completion"]:
            from crewyard.cli import completion

            return completion.run(args[1:])
        if args[:1] == ["schema"]:
            from crewyard.cli import schema

            return schema.run(args[1:])
        if args[:1] == ["memory"]:
            from crewyard.cli import memory

            return memory.run(args[1:])
        if args[:1] == ["batch"]:
            from crewyard.cli import batch

            return batch.run(args[1:])
        if args[:1] == ["worker"]:
            from crewyard.cli import worker

            return worker.run(args[1:])
        if args[:1] == ["schedule"]:
            from crewyard.cli import schedule

            return schedule.run(args[1:])
        if args[:1] == ["mcp"]:
            from crewyard.cli import mcp

            return mcp.run(args[1:])
        if args[:1] == ["eval"]:
            from crewyard.cli import eval as evaluation

            return evaluation.run(args[1:])
        if args[:1] == ["new"]:
            from crewyard.cli import new

            return new.run(args[1:])
        if args[:2] == ["runs", "answer"]:
            from crewyard.cli import answer

            return answer.run(args[2:])
        if args[:1] == ["ui"]:
            from crewyard.cli import ui

            return ui.run(args[1:])
        if args[:1] == ["runs"]:
            from crewyard.cli import runs

            return runs.run(args[1:])
        from crewyard.cli import run

        return run.run(args)
    except ConfigError as exc:
        print(named(f"error: {exc}"), file=sys.stderr)
        return ExitCode.BAD_INPUT
    except CrewyardError as exc:
        if exc.exit_code == ExitCode.WAITING:
            print(named(str(exc)), file=sys.stderr)
            return ExitCode.WAITING
        print(named(f"error: {exc}"), file=sys.stderr)
        return ExitCode.FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def _take_color(args: list[str]) -> list[str]:
    """The arguments without `--color WHEN` (or `--color=WHEN`), which is set for every console
    the command makes; the words after `--` are left alone."""
    from crewyard.observe.console import COLOR_CHOICES, set_color

    set_color("auto")  # main() called again in one process starts afresh
    rest: list[str] = []
    words = iter(args)
    for word in words:
        if word == "--":
            rest += [word, *words]
            break
        if word != "--color" and not word.startswith("--color="):
            rest.append(word)
            continue
        choice = word.partition("=")[2] if "=" in word else next(words, "")
        if choice not in COLOR_CHOICES:
            raise ConfigError(
                f"--color {choice!r} is not one of {', '.join(COLOR_CHOICES)}"
                if choice
                else "--color needs a value",
                hint="--color auto (colour on a terminal, none with NO_COLOR), always or never",
            )
        set_color(choice)  # type: ignore[arg-type]  # checked just above
    return rest
