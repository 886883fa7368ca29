"""The code sandbox: limits, timeouts, no secrets, no network, no files outside its folder."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from crewyard.tools.sandbox import SandboxLimits, run_python

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces need root here")


def test_program_output_and_exit_code(tmp_path: Path) -> None:
    ok = run_python("print('hello', 6 * 7)", tmp_path / "a")
    assert ok.ok and ok.stdout == "hello 42\n"
    bad = run_python("raise SystemExit('boom')", tmp_path / "b")
    assert not bad.ok and bad.exit_code == 1 and "boom" in bad.stderr


def test_endless_loop_and_its_children_are_killed_at_the_timeout(tmp_path: Path) -> None:
    marker = f"sandbox-child-{os.getpid()}-{time.time_ns()}"
    code = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', {marker!r}])\n"
        "while True: pass\n"
    )
    started = time.perf_counter()
    result = run_python(code, tmp_path, SandboxLimits(timeout_s=1.5))
    assert result.timed_out and result.killed_by == "timeout" and result.exit_code is None
    assert time.perf_counter() - started < 10
    assert not result.ok
    time.sleep(0.2)
    assert not any(marker.encode() in cmdline for cmdline in _command_lines())


def _command_lines() -> list[bytes]:
    lines = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(path.read_bytes())
        except OSError:  # the process ended while we looked
            continue
    return lines


def test_cpu_limit(tmp_path: Path) -> None:
    result = run_python("while True: pass", tmp_path, SandboxLimits(timeout_s=30, cpu_s=1))
    assert result.killed_by == "cpu limit" and not result.timed_out


def test_memory_limit(tmp_path: Path) -> None:
    result = run_python("x = bytearray(2 * 1024**3)", tmp_path, SandboxLimits(memory_mb=256))
    assert result.killed_by == "memory limit" and not result.ok


def test_no_secret_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-sandbox-canary-123456789")
    result = run_python("import os; print(sorted(os.environ))", tmp_path)
    assert "OPENAI_API_KEY" not in result.stdout and "sk-sandbox" not in result.stdout
    assert "'HOME'" in result.stdout


@ROOT_ONLY
def test_files_outside_the_work_dir_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    code = "print(open('../secret.txt').read())"
    result = run_python(code, tmp_path / "work")
    assert "TOP SECRET" not in result.stdout
    assert "Permission denied" in result.stderr
    assert "Landlock" in result.isolation_note
    home = run_python(f"print(open({str(Path.home() / '.bashrc')!r}).read())", tmp_path / "w2")
    assert not home.ok


@ROOT_ONLY
def test_no_network_not_even_loopback(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"
        result = run_python(code, tmp_path)
    assert result.network_isolated and not result.ok
    assert "unreachable" in result.stderr.lower() or "refused" in result.stderr.lower()
    allowed = run_python(code.replace("timeout=2)", "timeout=2) if False else None"), tmp_path)
    assert allowed.ok  # the same program without the connect runs fine


def test_output_is_capped(tmp_path: Path) -> None:
    result = run_python("print('x' * 1_000_000)", tmp_path, SandboxLimits(max_output_bytes=1000))
    assert result.stdout.startswith("x" * 1000)
    assert result.stdout.endswith("[… output truncated at 1000 bytes]")


@pytest.mark.parametrize("name", ["../x.py", "a/b.py", ""])
def test_bad_file_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="plain file name"):
        run_python("print(1)", tmp_path, filename=name)


def test_runs_with_this_interpreter(tmp_path: Path) -> None:
    result = run_python("import sys; print(sys.version)", tmp_path)
    assert result.stdout.strip() == sys.version
