"""The code sandbox: limits, timeouts, no secrets, no network, no files outside its folder,
a process limit that binds root too, a cap on the total written, scratch not left behind."""

from __future__ import annotations

import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crewyard.tools import sandbox
from crewyard.tools.sandbox import SandboxLimits, run_python
from crewyard.tools.sandbox_setup import make_pids_cgroup, remove_cgroup, tree_bytes

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


@ROOT_ONLY
def test_a_program_that_leaves_the_process_group_is_killed_too(tmp_path: Path) -> None:
    code = (
        "import os\nos.setsid()  # out of the process group the timeout kills\nwhile True: pass\n"
    )
    result = run_python(code, tmp_path, SandboxLimits(timeout_s=1.5))
    assert result.timed_out
    deadline = time.monotonic() + 5  # the processes are gone when run_python returns
    while any(str(tmp_path).encode() in line for line in _command_lines()):  # (their cfg)
        assert time.monotonic() < deadline, "the program outlived its timeout"
        time.sleep(0.05)


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
@pytest.mark.parametrize("private_root", [True, False], ids=["private-root", "landlock-only"])
def test_files_outside_the_work_dir_cannot_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_root: bool
) -> None:
    monkeypatch.setitem(sandbox._TRY, "mountns", private_root)
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    code = "print(open('../secret.txt').read())"
    result = run_python(code, tmp_path / "work")
    assert "TOP SECRET" not in result.stdout and not result.ok
    # In the private root the file is not there at all; without it Landlock refuses it.
    assert ("No such file" if private_root else "Permission denied") in result.stderr
    assert "Landlock" in result.isolation_note
    assert ("private root" in result.isolation_note) is private_root
    home = run_python(f"print(open({str(Path.home() / '.bashrc')!r}).read())", tmp_path / "w2")
    assert not home.ok


@ROOT_ONLY
def test_writes_outside_the_work_dir_do_not_land(tmp_path: Path) -> None:
    code = (
        "for path in ('../escaped.txt', {outside!r}):\n"
        "    try:\n"
        "        open(path, 'w').write('out')\n"
        "        print('wrote', path)\n"
        "    except OSError as exc:\n"
        "        print('refused', path, exc.errno)\n"
    ).format(outside=str(tmp_path / "escaped2.txt"))
    result = run_python(code, tmp_path / "work")
    assert result.ok and result.stdout.count("refused") == 2, result.stdout + result.stderr
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "escaped2.txt").exists()


@ROOT_ONLY
def test_program_cannot_unmount_or_mount_its_way_past_the_disk_cap(tmp_path: Path) -> None:
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "here = os.getcwd().encode()\n"
        "print('umount', libc.umount2(here, 2))\n"
        "print('unshare', libc.unshare(0x10000000 | 0x20000))  # own user + mount namespace\n"
        "print('mount', libc.mount(b'tmpfs', here, b'tmpfs', 0, b'size=1g'))\n"
    )
    result = run_python(code, tmp_path)
    calls = dict(line.split() for line in result.stdout.splitlines())
    assert calls["umount"] == "-1" and calls["mount"] == "-1", result.stdout + result.stderr


@ROOT_ONLY
def test_root_runs_the_program_as_an_unprivileged_user(tmp_path: Path) -> None:
    result = run_python("import os; print(os.getuid(), os.geteuid(), os.getgroups())", tmp_path)
    uid, euid, groups = result.stdout.split(maxsplit=2)
    assert result.ok and uid != "0" and euid != "0", result.stdout + result.stderr
    assert "0" not in groups.strip("[]\n").split(", ")
    assert "user namespace" in result.process_limit


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


FORK_BOMB = """
import os, time
started = refused = 0
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        refused += 1
        continue
    if pid == 0:  # each child says it ran, then stays (a fork bomb's children do not end)
        os.write(1, b"child ran\\n")
        time.sleep(30)
        os._exit(0)
    started += 1
print("started", started, "refused", refused, flush=True)
"""


def _fork_bomb(tmp_path: Path) -> tuple[Any, int]:
    """The result and how many children were started (the program says; each child also
    writes a line once it runs, so what the program says is checked too)."""
    result = run_python(FORK_BOMB, tmp_path, SandboxLimits(max_processes=20, timeout_s=30))
    assert result.ok and "started" in result.stdout, result.stdout[-500:] + result.stderr
    said = re.search(r"started (\d+) refused (\d+)", result.stdout)
    assert said, result.stdout[-500:]
    started, refused = said.groups()
    assert int(started) + int(refused) == 300
    assert result.stdout.count("child ran") <= int(started)
    return result, int(started)


def test_fork_bomb_is_stopped_by_the_process_limit(tmp_path: Path) -> None:
    result, children = _fork_bomb(tmp_path)
    assert children < 20  # of 300
    assert result.process_limit.startswith("at most 20 (")  # and names what held
    assert ("RLIMIT_NPROC" in result.process_limit) or ("cgroup" in result.process_limit)
    assert result.process_limit in result.isolation_note


@ROOT_ONLY
def test_without_a_user_namespace_the_pids_cgroup_stops_the_fork_bomb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = make_pids_cgroup(1)
    if probe is None:
        pytest.skip("no pids cgroup can be made here")
    remove_cgroup(probe)
    monkeypatch.setitem(sandbox._TRY, "userns", False)
    result, children = _fork_bomb(tmp_path)
    assert children < 20 and result.process_limit == "at most 20 (pids cgroup)"


@ROOT_ONLY
def test_a_process_limit_that_cannot_hold_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sandbox._TRY, "userns", False)
    monkeypatch.setitem(sandbox._TRY, "cgroup", False)
    result = run_python("print('hi')", tmp_path)
    assert result.ok and result.process_limit.startswith("NOT limited")
    assert "processes: own PID namespace, NOT limited" in result.isolation_note


DISK_FILLER = """
import time
block = b"x" * (45 << 20)
written = 0
for i in range(24):
    try:
        with open(f"big-{i}.bin", "wb") as fh:
            fh.write(block)
        written += 1
    except OSError as exc:
        print("refused", i, exc.strerror)
print("written", written, flush=True)
time.sleep(LINGER)
"""
CAP = SandboxLimits().max_disk_mb << 20


@ROOT_ONLY
@pytest.mark.parametrize("keep_files", [True, False], ids=["kept", "discarded"])
def test_disk_total_is_capped_in_a_private_tmpfs(tmp_path: Path, keep_files: bool) -> None:
    result = run_python(DISK_FILLER.replace("LINGER", "0"), tmp_path, keep_files=keep_files)
    assert result.ok and "No space left on device" in result.stdout
    written = int(result.stdout.split("written")[1])
    assert written == CAP // (45 << 20)  # 2 whole files fit, the third is cut short
    left = tree_bytes(tmp_path)
    assert left <= CAP + (64 << 10)
    if keep_files:  # what the program wrote comes back, capped
        assert left > (CAP * 9) // 10 and (tmp_path / "big-0.bin").stat().st_size == 45 << 20
    else:  # only the program itself stays
        assert {p.name for p in tmp_path.iterdir()} <= {"main.py", ".tmp"}
        assert not any((tmp_path / ".tmp").iterdir()) and left < (64 << 10)
    assert result.disk_limit == "100 MB in total (private tmpfs)"


def test_disk_total_is_capped_by_the_supervisor_without_a_tmpfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sandbox._TRY, "mountns", False)
    limits = SandboxLimits(timeout_s=60, max_disk_mb=20)
    result = run_python(DISK_FILLER.replace("LINGER", "30"), tmp_path, limits)
    assert result.killed_by == "disk limit" and not result.ok and not result.timed_out
    assert {p.name for p in tmp_path.iterdir()} == {"main.py"}  # over the cap: all removed
    assert "checked by the supervisor" in result.disk_limit
