"""Every shell command the README shows runs as shown, offline, on the embedded model — in
README order, sharing one data folder (so `memory search` finds what the runs before it left),
with every connection beyond loopback blocked and recorded. A crew run must end `done`, with
its output files written and, on AutoGen, its turns checkpointed. A block that cannot run
offline says so in the README (`<!-- readme-test: skip (why) -->`); `make` targets are what
CI itself runs."""

from __future__ import annotations

import json
import shlex
import sqlite3
from pathlib import Path

import pytest

from tests.e2e.test_example_crews import run_main

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def readme_commands() -> list[tuple[dict[str, str], list[str]]]:
    """(environment additions, argv) of each command in the README's ```sh blocks."""
    commands: list[tuple[dict[str, str], list[str]]] = []
    skip_next = in_block = skipped = False
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("<!-- readme-test: skip"):
            skip_next = True
        elif line.startswith("```sh"):
            in_block, skipped, skip_next = True, skip_next, False
        elif line.startswith("```") and in_block:
            in_block = False
        elif in_block and not skipped and (words := shlex.split(line, comments=True)):
            env = {}
            while "=" in words[0] and not words[0].startswith("-"):
                key, _, value = words.pop(0).partition("=")
                env[key] = value
            if words[0] != "make":
                commands.append((env, words))
    return commands


COMMANDS = readme_commands()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readme")


def test_the_readme_shows_commands_to_run() -> None:
    shown = [" ".join(argv) for _, argv in COMMANDS]
    assert any(c.startswith("python main.py --crew debate") for c in shown)
    assert any(c.startswith("python main.py memory search") for c in shown)


@pytest.mark.parametrize(("env", "argv"), COMMANDS, ids=[" ".join(a) for _, a in COMMANDS])
def test_a_readme_command_runs_as_shown(env: dict[str, str], argv: list[str], folder: Path) -> None:
    assert argv[:2] == ["python", "main.py"], f"the README runs {argv[:2]}: teach this test how"
    args = argv[2:]
    if "--out" in args:  # a results file of the README's lands in the test's folder
        at = args.index("--out") + 1
        args[at] = str(folder / args[at])
    done = run_main(args, folder, **env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    net_log = folder / "netguard.log"
    assert not net_log.exists() or net_log.read_text() == ""
    if args[0] == "batch" and "--inputs" in args:  # every item done, each a line of --out
        items = (ROOT / args[args.index("--inputs") + 1]).read_text().splitlines()[1:]
        assert f"{len(items)} done, 0 failed" in done.stdout
        out = Path(args[args.index("--out") + 1])
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert sorted(r["id"] for r in lines) == sorted(i.split(",")[0] for i in items)
        assert all(r["status"] == "done" and r["output"] for r in lines)
    elif "--crew" in argv and "--dry-run" not in argv:
        db = sqlite3.connect(folder / "data" / "runs.sqlite3")
        run_id, status, engine, out = db.execute(
            "SELECT id, status, engine, output_dir FROM runs ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        assert status == "done"
        files = db.execute("SELECT output_file FROM checkpoints WHERE run_id = ?", (run_id,))
        for (name,) in files:
            if name:
                assert (Path(out) / name).read_text().strip(), name
        if engine == "autogen":  # group-chat turns are checkpointed as they happen
            turns = db.execute("SELECT COUNT(*) FROM turns WHERE run_id = ?", (run_id,))
            assert turns.fetchone()[0] >= 2
        assert "tokens:" in done.stderr  # the summary printed
