"""The installed command (`crewyard …`, `python -m crewyard …`) does what `python main.py …`
does, from any folder; crews, models.yaml and the data folder are found through
CREWYARD_* variables, then the nearest crewyard.toml or pyproject.toml [tool.crewyard]."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from crewyard.cli import main
from crewyard.errors import ConfigError
from crewyard.settings import PROJECT_ROOT, Settings, find_project_file

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with crewyard.toml and one crew; the test works in a subfolder."""
    root = tmp_path / "project"
    (root / "deep" / "down").mkdir(parents=True)
    (root / "crewyard.toml").write_text(
        f'crews_dir = "mycrews"\nmodels_file = "{ROOT / "models.yaml"}"\n'
    )
    monkeypatch.chdir(root / "deep" / "down")
    return root


def test_a_project_file_above_the_working_folder_gives_the_paths(project: Path) -> None:
    settings = Settings()
    assert settings.crews_dir == project / "mycrews"
    assert settings.models_file == ROOT / "models.yaml"
    assert settings.data_dir == project / ".crewyard"  # the data folder follows the project


def test_variables_and_arguments_win_over_the_project_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CREWYARD_CREWS_DIR", str(tmp_path / "elsewhere"))
    assert Settings().crews_dir == tmp_path / "elsewhere"
    assert Settings().data_dir == project / ".crewyard"
    assert Settings(data_dir=tmp_path / "d").data_dir == tmp_path / "d"


def test_without_a_project_file_the_defaults_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_project_file() is None
    settings = Settings()
    assert settings.crews_dir == PROJECT_ROOT / "crews"
    assert settings.data_dir == Path(".crewyard")
    assert settings.models_file == PROJECT_ROOT / "models.yaml"


def test_pyproject_tool_crewyard_counts_and_the_nearest_file_wins(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    inner = outer / "inner"
    other = inner / "other_tool"
    other.mkdir(parents=True)
    (outer / "crewyard.toml").write_text('crews_dir = "outer_crews"\n')
    (inner / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.crewyard]\ncrews_dir = "crews"\ndata_dir = "var"\n'
    )
    # a pyproject.toml of another tool (even a broken one) is passed over
    (other / "pyproject.toml").write_text("[tool.ruff\nline-length = 3\n")
    found = find_project_file(other)
    assert found is not None and found[0] == inner / "pyproject.toml"
    # in one folder, crewyard.toml comes before pyproject.toml
    (inner / "crewyard.toml").write_text('crews_dir = "own"\n')
    found = find_project_file(other)
    assert found is not None and found[0] == inner / "crewyard.toml"
    assert find_project_file(outer) == (outer / "crewyard.toml", {"crews_dir": "outer_crews"})


@pytest.mark.parametrize(
    ("name", "text", "message", "fix"),
    [
        ("crewyard.toml", 'crews_dir = "a\n', "not valid TOML", 'crews_dir = "crews"'),
        ("crewyard.toml", 'crew_dir = "a"\n', "unknown key 'crew_dir'", "did you mean 'crews_dir'"),
        ("crewyard.toml", "data_dir = 3\n", "data_dir: must be a path in quotes", 'data_dir = "'),
        (
            "pyproject.toml",
            '[tool]\ncrewyard = "crews"\n',
            "tool.crewyard: [tool.crewyard] must be a table",
            "[tool.crewyard] on a line",
        ),
        (
            "pyproject.toml",
            '[tool.crewyard]\ncrews = "x"\n',
            "tool.crewyard.crews: unknown key",
            "crews_dir",
        ),
    ],
)
def test_a_bad_project_file_is_a_config_error_naming_the_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    message: str,
    fix: str,
) -> None:
    (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        Settings()
    assert info.value.file == str(tmp_path / name)
    assert message in str(info.value) and fix in (info.value.hint or "")
    assert main(["--list"]) == 2  # the command line: exit 2, the file named, no traceback
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / name}") and "Traceback" not in err


def command_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREWYARD_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=command_env(), capture_output=True, text=True, timeout=TIMEOUT
    )


@pytest.fixture
def scaffolded(project: Path) -> Path:
    """The project with a crew made by `python -m crewyard new` from its subfolder."""
    made = run([sys.executable, "-m", "crewyard", "new", "watcher"], Path.cwd())
    assert made.returncode == 0, made.stderr
    assert (project / "mycrews" / "watcher" / "crew.yaml").is_file()
    assert (project / "mycrews" / ".schemas" / "crew.schema.json").is_file()
    return project


def test_python_m_crewyard_is_main_py_from_another_folder(scaffolded: Path) -> None:
    here = Path.cwd()
    for argv in (["--list"], ["--crew", "watcher", "--dry-run"], ["schema", "tasks"]):
        module = run([sys.executable, "-m", "crewyard", *argv], here)
        script = run([sys.executable, str(ROOT / "main.py"), *argv], here)
        assert module.returncode == script.returncode == 0, module.stderr
        assert module.stdout == script.stdout
    listed = run([sys.executable, "-m", "crewyard", "--list"], here).stdout
    assert listed.startswith("watcher  [sequential]")
    bad = run([sys.executable, "-m", "crewyard", "--crew", "nope"], here)
    assert bad.returncode == 2 and "no crew named 'nope'" in bad.stderr


def console_script_target() -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return str(pyproject["project"]["scripts"]["crewyard"])


def test_the_console_script_runs_the_command_line(scaffolded: Path, tmp_path: Path) -> None:
    """The `crewyard` script as pip writes it for [project.scripts] (the same wrapper), and
    the installed one too where this environment has it."""
    module, _, function = console_script_target().partition(":")
    assert (module, function) == ("crewyard.cli", "main")
    wrapper = tmp_path / "bin" / "crewyard"
    wrapper.parent.mkdir()
    wrapper.write_text(
        f"#!{sys.executable}\nimport re\nimport sys\nfrom {module} import {function}\n"
        "if __name__ == '__main__':\n"
        "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
        f"    sys.exit({function}())\n"
    )
    wrapper.chmod(0o755)
    scripts = [wrapper]
    installed = Path(sys.executable).parent / "crewyard"
    if installed.is_file():
        scripts.append(installed)
    for script in scripts:
        listed = run([str(script), "--list"], Path.cwd())
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.startswith("watcher  [sequential]"), script
        typo = run([str(script), "--crew", "wacher", "--dry-run"], Path.cwd())
        assert typo.returncode == 2 and "did you mean 'watcher'?" in typo.stderr


def test_the_built_wheel_installs_a_working_command(scaffolded: Path, tmp_path: Path) -> None:
    """The real thing: a wheel built from this tree, installed into a folder of its own; its
    `crewyard` script runs from the project's subfolder, and elsewhere lists the example
    crews installed inside the package."""
    pytest.importorskip("wheel", reason="building a wheel offline needs the wheel package")
    import shutil

    source = tmp_path / "source"
    source.mkdir()
    for name in ("crewyard", "crews", "agents", "tasks", "tools", "memory"):
        shutil.copytree(
            ROOT / name,
            source / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__", ".schemas"),
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w"]
    built = subprocess.run(
        [*build, str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("crewyard-*.whl")
    site = tmp_path / "site"
    installed = subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    env = command_env(PYTHONPATH=str(site))
    for cwd, argv, first in (
        (Path.cwd(), ["--list"], "watcher  [sequential]"),
        (Path.cwd(), ["schema", "crew"], "{"),
        (tmp_path, ["--list"], "brainstorm  [tree_of_thought]"),  # no project file: packaged
    ):
        done = subprocess.run(
            [str(site / "bin" / "crewyard"), *argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(first)
    where = subprocess.run(
        [sys.executable, "-c", "import crewyard; print(crewyard.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert where.stdout.startswith(str(site))  # the wheel's copy ran, not this tree
