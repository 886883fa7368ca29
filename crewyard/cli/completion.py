"""python main.py completion bash|zsh: a shell completion script on stdout. Its commands, actions,
flags and flag values come from the command groups' own parsers; crew names, run and batch ids
and model aliases are asked of `crewyard __complete KIND` as the user presses Tab."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterable
from importlib import import_module
from pathlib import Path

from crewyard.cli.output import program_name
from crewyard.errors import ExitCode

# command → the module whose parser() reads its arguments ("" is the default command, a run)
COMMANDS = {
    "": "run",
    "runs": "runs",
    "memory": "memory",
    "batch": "batch",
    "schedule": "schedule",
    "worker": "worker",
    "eval": "eval",
    "new": "new",
    "schema": "schema",
    "mcp": "mcp",
    "ui": "ui",
}
# flags whose value is a name crewyard knows, and what `__complete` calls it
DYNAMIC = {"--crew": "crews", "--resume": "runs", "--replay": "runs", "--run": "runs"}
SHELLS = ("bash", "zsh")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} completion",
        description="Print a shell completion script: commands, flags, crew names, run ids and "
        "model aliases. bash: source <(crewyard completion bash); zsh: source <(crewyard "
        "completion zsh) in ~/.zshrc.",
    )
    p.add_argument("shell", choices=SHELLS)
    return p


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    print(script(args.shell))
    return ExitCode.OK


Flags = dict[str, list[str] | None]  # a flag → its value's choices ([]: a file; None: no value)


def _walk(p: argparse.ArgumentParser) -> tuple[list[str], Flags]:
    """A parser's first positional's choices (its actions), and its flags. A flag's free value
    completes as a file when it is read as a path, else as nothing."""
    words: list[str] = []
    flags: Flags = {"--help": None}
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                words.append(name)
                flags.update(_walk(sub)[1])  # the actions' flags, offered for any of them
        elif action.option_strings:
            value = (
                None
                if action.nargs == 0 or not (action.choices or action.type is Path)
                else [str(c) for c in action.choices or ()]
            )
            flags.update({f: value for f in action.option_strings if f.startswith("--")})
        elif action.choices and not words:
            words = [str(c) for c in action.choices]
    return words, flags


def _table() -> dict[str, tuple[list[str], Flags]]:
    commands = {
        command: _walk(import_module(f"crewyard.cli.{module}").parser())
        for command, module in COMMANDS.items()
    }
    runs_words, runs_flags = commands["runs"]
    answer_flags = _walk(import_module("crewyard.cli.answer").parser())[1]
    commands["runs"] = ([*runs_words, "answer"], {**runs_flags, **answer_flags})
    commands["completion"] = (list(SHELLS), {"--help": None})
    for _, flags in commands.values():
        flags["--color"] = ["auto", "always", "never"]  # every command takes it
    return commands


def _case(pattern: str, body: str, indent: int = 8) -> str:
    return f"{' ' * indent}{pattern}) {body} ;;"


def _words(words: Iterable[str]) -> str:
    return f"_crewyard_words {shlex.quote(' '.join(words))}"


def _bash_function() -> str:
    commands = _table()
    choices: dict[str, list[str]] = {}
    paths: set[str] = set()
    for _, flags in commands.values():
        for flag, values in flags.items():
            if values:
                choices.setdefault(flag, [])
                choices[flag] += [v for v in values if v not in choices[flag]]
            elif values is not None:
                paths.add(flag)
    value_cases = [
        _case(flag, f"_crewyard_names {kind}; return 0") for flag, kind in DYNAMIC.items()
    ]
    value_cases.append(_case("--model", "_crewyard_names aliases =; return 0"))
    value_cases += [
        _case(flag, f"{_words(values)}; return 0") for flag, values in sorted(choices.items())
    ]
    if paths - set(DYNAMIC):
        value_cases.append(
            _case("|".join(sorted(paths - set(DYNAMIC))), "_crewyard_files; return 0")
        )
    flag_cases = [
        _case(shlex.quote(command) if command else '""', _words(sorted(flags)), 12)
        for command, (_, flags) in commands.items()
    ]
    word_cases = [
        _case(shlex.quote(command), _words(words))
        for command, (words, _) in commands.items()
        if command and words
    ]
    return BASH.format(
        subcommands=" ".join(c for c in commands if c),
        value_cases="\n".join(value_cases),
        flag_cases="\n".join(flag_cases),
        word_cases="\n".join(word_cases),
        run_flags=shlex.quote(" ".join(sorted(commands[""][1]))),
    )


def script(shell: str) -> str:
    function = _bash_function()
    if shell == "zsh":  # zsh runs the same function through its bash completion layer
        return ZSH_HEAD + function
    return function


BASH = """\
# crewyard completion for bash: source <(crewyard completion bash)
_crewyard_words() {{ COMPREPLY=( $(compgen -W "$1" -- "$cur") ); }}
_crewyard_files() {{ COMPREPLY=( $(compgen -f -- "$cur") ); }}
_crewyard_names() {{
    # names crewyard knows (crews, runs, batches, aliases), asked of the command itself
    local IFS=$'\\n' found
    found=( $("${{COMP_WORDS[0]}}" __complete "$1" 2>/dev/null) )
    COMPREPLY=( $(compgen -W "${{found[*]}}" -S "${{2:-}}" -- "$cur") )
    if [[ -n "${{2:-}}" ]] && type compopt >/dev/null 2>&1; then compopt -o nospace 2>/dev/null; fi
}}
_crewyard() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="" command="" action="" running="" i word
    (( COMP_CWORD > 0 )) && prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    # the command is the first word (after --color WHEN), its action the next plain word;
    # any other first word starts a run (--crew, --list, --replay …)
    for (( i = 1; i < COMP_CWORD; i++ )); do
        word="${{COMP_WORDS[i]}}"
        if [[ "$word" == --color ]]; then (( i++ )); continue; fi
        if [[ -z "$command" ]]; then
            case " {subcommands} " in
                *" $word "*) command="$word"; continue ;;
                *) running=1; break ;;
            esac
        fi
        if [[ "$word" != -* ]]; then action="$word"; break; fi
    done
    case "$prev" in
{value_cases}
    esac
    if [[ "$cur" == -* ]]; then
        case "$command" in
{flag_cases}
        esac
        return 0
    fi
    if [[ -z "$command" ]]; then
        if [[ -n "$running" ]]; then
            _crewyard_words {run_flags}
        else
            _crewyard_words "{subcommands}"
        fi
        return 0
    fi
    if [[ -n "$action" ]]; then
        case "$command $action" in
            "runs show"|"runs answer") _crewyard_names runs ;;
            "batch status"|"batch resume") _crewyard_names batches ;;
            *) COMPREPLY=() ;;
        esac
        return 0
    fi
    case "$command" in
{word_cases}
        *) COMPREPLY=() ;;
    esac
    return 0
}}
complete -F _crewyard crewyard"""

ZSH_HEAD = """\
# crewyard completion for zsh: source <(crewyard completion zsh) in ~/.zshrc
autoload -U +X compinit && { (( $+functions[compdef] )) || compinit; }
autoload -U +X bashcompinit && bashcompinit
"""
