"""Places crewyard writes to, broken: a data folder that is a file or read-only, an outputs
folder that is a file, a damaged run store, --output naming a folder. Each is exit 2 with
what, where and the fix — no traceback — and files are written with the user's umask."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crewyard import engines
from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.errors import ConfigError
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.files import write_atomic
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import cli_uses
from tests.unit.seam_plugins import ENGINE, ListMemory

ROOT = Path(__file__).resolve().parents[2]


def test_a_data_folder_that_is_a_file(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.data_dir.write_text("not a folder")
    cli_uses(settings, monkeypatch)
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert f"the data folder {settings.data_dir} cannot be used: it is a file" in err
    assert "CREWYARD_DATA_DIR" in err and "Traceback" not in err


def test_a_damaged_run_store(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.data_dir.mkdir()
    settings.runs_db.write_bytes(os.urandom(4096))
    cli_uses(settings, monkeypatch)
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert "is not a readable SQLite database" in err and "move it aside" in err


def test_an_outputs_folder_that_is_a_file(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "_registered", [*engines._registered, ENGINE])
    make_crew(
        "echo",
        crew={"process": "echo"},
        agents={"a": {"role": "r", "goal": "g", "backstory": "b"}},
        tasks={"t": {"description": "d", "expected_output": "e"}},
    )
    settings.data_dir.mkdir()
    settings.outputs_dir.write_text("in the way")
    gateway = Gateway(ModelTable.load(settings.models_file))
    dispatcher = Dispatcher(settings, gateway=gateway, memory=ListMemory())
    spec = load_crew("echo", settings.crews_dir, engines.processes())
    with pytest.raises(ConfigError, match=r"the outputs folder .* a file stands where"):
        dispatcher.run(spec, {})
    assert dispatcher.store.recent() == []  # refused before the run started


def test_output_naming_a_folder_is_refused_before_the_run(
    settings: Settings,
    two_step_crew: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    cli_uses(settings, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=x", "--output", str(tmp_path)]) == 2
    assert f"--output {tmp_path} is a folder" in capsys.readouterr().err
    assert not settings.runs_db.exists()  # nothing ran


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="a read-only folder needs a read-only mount here (root and unshare)",
)
def test_a_read_only_data_folder(settings: Settings, tmp_path: Path) -> None:
    settings.data_dir.mkdir()
    RunStore(settings.runs_db).close()  # a store that exists, on a disk that turns read-only
    command = (
        f"mount --bind -o ro {settings.data_dir} {settings.data_dir} && "
        f"{sys.executable} main.py runs"
    )
    env = {**os.environ, "CREWYARD_DATA_DIR": str(settings.data_dir)}
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{settings.data_dir}" in done.stderr and "CREWYARD_DATA_DIR" in done.stderr


def test_files_are_written_with_the_users_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "report.md", "# hi")
        assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o644
        (tmp_path / "kept.md").write_text("x")
        os.chmod(tmp_path / "kept.md", 0o600)
        write_atomic(tmp_path / "kept.md", "y")
        assert (tmp_path / "kept.md").stat().st_mode & 0o777 == 0o600  # its mode is kept
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.md", "report.md"]
