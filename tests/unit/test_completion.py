"""Shell completion: `crewyard completion bash|zsh` prints a script that completes commands and
flags, and crew names, run ids and model aliases from the hidden, quick `__complete`; bash
(and zsh, when installed) run it for real against the installed command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.runs.store import RunStore
from crewyard.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = "20261202-101500-abc123"


@pytest.fixture
def shell_env(settings: Settings, two_step_crew: Path, tmp_path: Path) -> dict[str, str]:
    """The environment a shell runs `crewyard` in: the crews of the test, a run in the store,
    and a `crewyard` on PATH (the installed console script, running this checkout's code)."""
    settings.data_dir.mkdir(parents=True)
    store = RunStore(settings.run_store)
    store.start(RUN_ID, "demo", {}, "crewai", settings.data_dir, None)
    store.finish(RUN_ID, "done", output="x")
    store.close()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    installed = Path(sys.executable).parent / "crewyard"
    command = bin_dir / "crewyard"
    if installed.is_file():
        command.symlink_to(installed)
    else:  # no console script beside this interpreter: the same command line through -m
        command.write_text(f'#!/bin/sh\nexec {sys.executable} -m crewyard "$@"\n')
        command.chmod(0o755)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "CREWYARD_DATA_DIR": str(settings.data_dir),
        "CREWYARD_CREWS_DIR": str(settings.crews_dir),
        "CREWYARD_MODELS_FILE": str(settings.models_file),
    }


def _bash_completes(env: dict[str, str], *cases: tuple[str, ...]) -> list[list[str]]:
    """COMPREPLY for each case, in one bash that sourced the script: Tab pressed after the
    case's words (its last word is the one being completed)."""
    code = ["source <(crewyard completion bash) || exit 9"]
    for words in cases:
        array = " ".join(f"'{w}'" for w in ("crewyard", *words))
        code += [
            f"COMP_WORDS=({array}); COMP_CWORD={len(words)}; COMPREPLY=()",
            "_crewyard",
            'printf "%s\\n" "${COMPREPLY[@]}" "--end--"',
        ]
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", "\n".join(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0 and done.stderr == "", done
    replies = done.stdout.split("--end--\n")[:-1]
    return [[word for word in reply.splitlines() if word] for reply in replies]


def test_bash_completes_crews_runs_aliases_commands_and_flags(shell_env: dict[str, str]) -> None:
    expected = {
        ("--crew", ""): ["demo"],
        ("--crew", "de"): ["demo"],
        ("--crew", "x"): [],
        ("runs", "show", ""): [RUN_ID],
        ("--resume", "2026"): [RUN_ID],
        ("--model", "s"): ["smart=", "standard="],
        ("ru",): ["runs"],
        ("runs", ""): ["list", "show", "cost", "answer"],
        ("runs", "--js"): ["--json"],
        ("memory", "list", "--scope", "f"): ["facts"],
        ("--color", "a"): ["auto", "always"],
        ("--color", "never", "sch"): ["schedule", "schema"],
        ("--crew", "demo", "--dry"): ["--dry-run"],
    }
    replies = _bash_completes(shell_env, *expected, ("--crew", "demo", ""))
    assert dict(zip(expected, replies, strict=False)) == expected
    assert "--dry-run" in replies[-1] and "--input" in replies[-1]  # a run's flags


def test_the_scripts_are_printed_for_bash_and_zsh(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    bash = capsys.readouterr().out
    assert bash.rstrip().endswith("complete -F _crewyard crewyard")
    assert main(["completion", "zsh"]) == 0
    zsh = capsys.readouterr().out
    assert "bashcompinit" in zsh and zsh.endswith(bash)
    with pytest.raises(SystemExit) as info:
        main(["completion", "fish"])
    assert info.value.code == 2


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_crew_names_at_a_real_prompt(shell_env: dict[str, str]) -> None:
    """An interactive zsh on a pseudo-terminal (zsh's zpty): Tab after `crewyard --crew `."""
    driver = (
        "zmodload zsh/zpty\n"
        "zpty -b z 'TERM=dumb zsh -f -i'\n"
        "zpty -w z 'PS1=\"> \"; source <(crewyard completion zsh)'\n"
        "sleep 2\n"
        "zpty -n -w z $'crewyard --crew d\\t'\n"
        "sleep 3\n"
        'all=""\n'
        "while zpty -r -t z chunk; do all+=$chunk; done\n"
        'print -r -- "$all"\n'
        "zpty -d z\n"
    )
    done = subprocess.run(
        ["zsh", "-f", "-c", driver], capture_output=True, text=True, env=shell_env, timeout=60
    )
    assert "crewyard --crew demo " in done.stdout, done.stdout


def test_complete_answers_quickly_and_quietly(
    shell_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = (
        "import sys, crewyard.cli as c\n"
        "codes = [c.main(['__complete', k]) for k in ('crews', 'runs', 'batches', 'aliases')]\n"
        "heavy = [m for m in ('crewai', 'autogen_agentchat', 'litellm', 'llama_cpp',"
        " 'opentelemetry', 'qdrant_client', 'dbos') if m in sys.modules]\n"
        "print(codes, heavy)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=shell_env, check=True
    )
    assert done.stdout.splitlines() == [
        "demo",
        RUN_ID,
        "fast",
        "smart",
        "standard",
        "[0, 0, 0, 0] []",
    ]
    # no store yet: nothing offered and no database made; a bad kind prints nothing
    empty = {**shell_env, "CREWYARD_DATA_DIR": str(tmp_path / "none")}
    for kind in ("runs", "batches", "nonsense"):
        done = subprocess.run(
            [sys.executable, "-m", "crewyard", "__complete", kind],
            capture_output=True,
            text=True,
            env=empty,
        )
        assert (done.stdout, done.stderr) == ("", ""), done
    assert not (tmp_path / "none").exists()
