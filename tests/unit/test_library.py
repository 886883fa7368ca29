"""crewyard in someone else's process: importing and running it leaves the caller's loguru
sinks, environment and .env alone, and its step-by-step event lines stay out of their sinks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crewyard.settings import Settings
from tests.conftest import write_yaml

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import json, os, sys
from loguru import logger

seen = []
mine = logger.add(seen.append, level="DEBUG", format="{name} {level} {message}")
handlers, env = set(logger._core.handlers), dict(os.environ)

import crewyard, crews, memory, tools
import crewyard.dispatcher, crewyard.gateway.router, crewyard.cli
from crewyard import engines
from crewyard.settings import Settings
from tests.unit.seam_plugins import ENGINE

engines.register(ENGINE)
folder = sys.argv[1]
settings = Settings(
    data_dir=folder + "/data", crews_dir=folder + "/crews", models_file=folder + "/models.yaml"
)
result = crewyard.run("quiet", settings=settings, word="hi")
print(json.dumps({
    "output": result.output,
    # the caller's sinks all stay; crewyard keeps at most its one run-log sink, which writes
    # only records bound to a run under way
    "handlers_kept": handlers <= set(logger._core.handlers)
    and len(set(logger._core.handlers) - handlers) <= 1,
    "env_changed": sorted(k for k in set(env) | set(os.environ) if env.get(k) != os.environ.get(k)),
    "ours_below_warning": [m for m in seen if m.startswith("crewyard") and " WARNING " not in m],
}))
"""


def test_running_a_crew_leaves_the_callers_sinks_and_environment_alone(tmp_path: Path) -> None:
    write_yaml(
        tmp_path / "models.yaml",
        {"aliases": {"standard": {"model": "scripted/main", "script": ["one"]}}},
    )
    write_yaml(
        tmp_path / "crews/quiet/crew.yaml", {"process": "echo", "memory": {"enabled": False}}
    )
    write_yaml(
        tmp_path / "crews/quiet/agents.yaml", {"a": {"role": "r", "goal": "g", "backstory": "b"}}
    )
    write_yaml(
        tmp_path / "crews/quiet/tasks.yaml",
        {"t": {"description": "say {word}", "expected_output": "x"}},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CREWAI", "OTEL", "LITELLM"))}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {
        "output": "one",
        "handlers_kept": True,
        "env_changed": [],
        "ours_below_warning": [],
    }
    assert (tmp_path / "data" / "logs").is_dir()  # the run still kept its own JSON log


def test_the_library_never_reads_dotenv_but_the_command_line_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        "CREWYARD_DATA_DIR=from-dotenv\nSEAM_TEST_API_KEY=sk-dotenv-000000000000\n"
    )
    monkeypatch.chdir(tmp_path)
    for key in ("CREWYARD_DATA_DIR", "SEAM_TEST_API_KEY"):
        monkeypatch.setenv(key, "")  # recorded, so that the teardown removes what .env adds
        monkeypatch.delenv(key)
    assert Settings().data_dir == Path(".crewyard")
    assert "SEAM_TEST_API_KEY" not in os.environ

    assert Settings.for_command_line().data_dir == Path("from-dotenv")
    assert os.environ["SEAM_TEST_API_KEY"].startswith("sk-dotenv")


def test_a_users_own_tools_crews_or_memory_folder_shadows_nothing(tmp_path: Path) -> None:
    """A notebook in a folder with its own tools/, crews/, memory/, agents/, tasks/ packages:
    crewyard's are imported as crewyard.tools, …, so neither side shadows the other."""
    for name in ("tools", "crews", "memory", "agents", "tasks"):
        write_yaml(tmp_path / name / "__init__.py", f"WHOSE = 'the user\\'s {name}'\n")
    code = (
        "import crewyard, crewyard.cli, tools\n"
        "from crewyard.tools import ToolSpec\n"
        "code = crewyard.cli.main(['--list'])\n"
        "print(code, tools.WHOSE, sorted(crewyard.list_crews()))\n"
    )
    env = {**os.environ, "CREWYARD_CREWS_DIR": str(ROOT / "crews")}
    env["PYTHONPATH"] = str(ROOT)  # the checkout, as the editable install also puts it
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("0 the user's tools [") and "'research'" in last
