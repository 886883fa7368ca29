"""Run untrusted Python (an AI coder's program) in a confined child process.

The child is the same interpreter in isolated mode (-I), started through a small bootstrap
that, before any of the program runs: lowers resource limits (CPU, address space, file size,
processes), enters a fresh network namespace when root (no interfaces up, so no network, not
even loopback) and a fresh PID namespace (it sees and signals only its own processes), and
confines the file system with Landlock (read-only: the Python install; read and write: the
work dir only, so `../` and secrets elsewhere cannot be read). It keeps the caller's user:
the Python install may sit where `nobody` cannot reach (/root/.pyenv). Each step the kernel
refuses is reported in isolation_note, never hidden.
The environment holds no variable of the parent's (no API keys). Wall-clock timeouts kill the
whole process group. stdout and stderr are capped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_BOOTSTRAP = r"""
import ctypes, json, os, resource, runpy, sys
cfg = json.loads(sys.argv[1]); status = {}
libc = ctypes.CDLL(None, use_errno=True)
for name, value in cfg["rlimits"].items():  # CPU: SIGXCPU at the soft limit, not SIGKILL
    resource.setrlimit(getattr(resource, name), (value, value + (name == "RLIMIT_CPU")))
if not cfg["network"]:
    status["netns"] = libc.unshare(0x40000000) == 0  # CLONE_NEWNET
if cfg["pidns"] and libc.unshare(0x20000000) == 0:  # CLONE_NEWPID: takes effect for a child
    pid = os.fork()
    if pid:  # stay as a plain waiter that relays the program's exit status
        os.close(cfg["status_fd"])
        _, wait_status, usage = os.wait4(pid, 0)
        code = os.waitstatus_to_exitcode(wait_status)
        # As PID 1 of its namespace the program ignores SIGXCPU, so the hard limit's SIGKILL
        # ends it: report that as the CPU limit it is.
        if code == -9 and usage.ru_utime + usage.ru_stime >= cfg["rlimits"]["RLIMIT_CPU"]:
            code = -24
        if code < 0:
            os.kill(os.getpid(), -code)
        os._exit(code)
    status["pidns"] = True
libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: needed by Landlock, keeps setuid off
abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(..., VERSION)
status["landlock"] = False
if abi > 0:
    handled = (1 << (15 if abi >= 3 else 14 if abi >= 2 else 13)) - 1
    attr = ctypes.c_uint64(handled)
    ruleset = libc.syscall(444, ctypes.byref(attr), 8, 0)
    class Beneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]
    file_rights = 1 | 2 | 4 | ((1 << 14) if abi >= 3 else 0)
    rules = [(p, 1 | 4 | 8) for p in cfg["read"]] + [(p, handled) for p in cfg["write"]]
    for path, rights in rules:  # read-only: execute, read file, read dir
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        allowed = rights if os.path.isdir(path) else rights & file_rights
        libc.syscall(445, ruleset, 1, ctypes.byref(Beneath(allowed, fd)), 0)
        os.close(fd)
    status["landlock"] = libc.syscall(446, ruleset, 0) == 0
with os.fdopen(cfg["status_fd"], "w") as out:
    json.dump(status, out)
sys.argv = [cfg["file"]]
runpy.run_path(cfg["file"], run_name="__main__")
"""


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 512
    max_output_bytes: int = 64_000
    max_file_mb: int = 50
    max_processes: int = 64
    network: bool = False


@dataclass(frozen=True)
class SandboxResult:
    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool
    killed_by: str | None
    network_isolated: bool
    isolation_note: str
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


def _read_only_paths() -> list[str]:
    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        sysconfig.get_paths()["stdlib"],
        "/usr",
        "/lib",
        "/lib64",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/dev/null",
        "/dev/urandom",
        str(Path(sys.executable).resolve().parent),
    }
    return sorted(p for p in paths if p and os.path.exists(p))


def _capped(path: Path, limit: int) -> str:
    with path.open("rb") as fh:
        data = fh.read(limit + 1)
    text = data[:limit].decode("utf-8", errors="replace")
    return text + (f"\n[… output truncated at {limit} bytes]" if len(data) > limit else "")


def _killed_by(code: int | None, timed_out: bool, stderr: str) -> str | None:
    if timed_out:
        return "timeout"
    if code in (-signal.SIGXCPU, -signal.SIGKILL) and code is not None:
        return "cpu limit" if code == -signal.SIGXCPU else "signal 9"
    if "MemoryError" in stderr:
        return "memory limit"
    if code == -signal.SIGXFSZ:
        return "file size limit"
    return f"signal {-code}" if code is not None and code < 0 else None


def run_python(
    code: str, work_dir: Path, limits: SandboxLimits = SandboxLimits(), *, filename: str = "main.py"
) -> SandboxResult:
    """Run code as work_dir/filename under the limits; never raises for what the code does."""
    if not filename or "/" in filename or os.sep in filename or ".." in filename:
        raise ValueError(f"filename must be a plain file name, not {filename!r}")
    work_dir = work_dir.resolve()
    (work_dir / ".tmp").mkdir(parents=True, exist_ok=True)
    (work_dir / filename).write_text(code, encoding="utf-8")
    status_r, status_w = os.pipe()
    cfg = {
        "rlimits": {
            "RLIMIT_CPU": limits.cpu_s,
            "RLIMIT_AS": limits.memory_mb << 20,
            "RLIMIT_FSIZE": limits.max_file_mb << 20,
            "RLIMIT_CORE": 0,
            "RLIMIT_NPROC": limits.max_processes,
        },
        "network": limits.network,
        "read": _read_only_paths(),
        "write": [str(work_dir)],
        "pidns": os.geteuid() == 0,
        "status_fd": status_w,
        "file": filename,
    }
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(work_dir),
        "TMPDIR": str(work_dir / ".tmp"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crewyard-sandbox-") as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-c", _BOOTSTRAP, json.dumps(cfg)],
                cwd=work_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
                pass_fds=(status_w,),
            )
        os.close(status_w)
        timed_out = False
        try:
            proc.wait(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:  # the whole group: children of the program too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with os.fdopen(status_r) as fh:
            raw_status = fh.read()
        stdout = _capped(out_path, limits.max_output_bytes)
        stderr = _capped(err_path, limits.max_output_bytes)
    status = json.loads(raw_status) if raw_status else {}
    net_isolated = bool(status.get("netns"))
    notes = [
        "network: allowed"
        if limits.network
        else "network: fresh namespace (no interfaces up)"
        if net_isolated
        else "network: NOT isolated (unshare refused: not root?)",
        "files: Landlock (work dir only)"
        if status.get("landlock")
        else "files: NOT confined (Landlock unavailable)",
        "processes: own PID namespace" if status.get("pidns") else "processes: shared",
    ]
    code_ = None if timed_out else proc.returncode
    return SandboxResult(
        exit_code=code_,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        killed_by=_killed_by(code_, timed_out, stderr),
        network_isolated=net_isolated,
        isolation_note="; ".join(notes),
        duration_s=time.perf_counter() - started,
    )
