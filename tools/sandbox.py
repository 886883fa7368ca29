"""Run untrusted Python (an AI coder's program) in a confined child process.

The child is the same interpreter in isolated mode (-I), started through a bootstrap
(tools/sandbox_setup.py) that, before any of the program runs: lowers resource limits (CPU,
address space, file size, processes), and when root enters a fresh network namespace (no
interfaces up, so no network, not even loopback), a private mount namespace whose root holds
only the Python install (read-only) and the work dir, there a size-limited tmpfs (the total the
program may write, not just each file), a fresh PID namespace (it sees and signals only its own
processes), and a user namespace where it runs as uid 65534, not root, so the process limit
binds (RLIMIT_NPROC exempts uid 0); a pids cgroup caps processes too where one can be made.
Then it drops every capability and confines the file system with Landlock (read-only: the
Python install; read and write: the work dir only). Without a mount namespace (not root) the
program writes into the work dir itself and the supervisor checks the total. Each step the
kernel refuses is reported in isolation_note (process_limit, disk_limit), never hidden.
The environment holds no variable of the parent's (no API keys). Wall-clock timeouts kill the
whole process group (and the PID namespace). stdout and stderr are capped. What the program
wrote is copied back into the work dir (at most the disk cap) unless keep_files=False."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crewyard.tools.sandbox_setup import (
    NOBODY,
    clear_dir,
    make_pids_cgroup,
    remove_cgroup,
    tree_bytes,
)

_BOOTSTRAP = Path(__file__).with_name("sandbox_setup.py")
# Which mechanisms to try; tests switch some off to check the fallbacks and what is reported.
_TRY = {"userns": True, "mountns": True, "cgroup": True}
_QUOTA_POLL_S = 0.1  # how often the supervisor checks the total when no tmpfs holds it
_GRACE_S = 2.0  # for the waiter to end the program's namespace once told to stop


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0
    cpu_s: int = 10
    memory_mb: int = 512
    max_output_bytes: int = 64_000
    max_file_mb: int = 50  # each file
    max_disk_mb: int = 100  # everything the program writes, in total
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
    process_limit: str = ""  # what capped the number of processes, or why nothing did
    disk_limit: str = ""  # what capped the total written, and how

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
    if "No space left on device" in stderr:
        return "disk limit"
    return f"signal {-code}" if code is not None and code < 0 else None


def _limits_note(status: dict[str, Any], limits: SandboxLimits, root: bool) -> tuple[str, str, str]:
    """isolation_note, process_limit, disk_limit: each step that held or was refused."""
    held = []
    if status.get("userns"):
        held.append(f"RLIMIT_NPROC as uid {NOBODY} in a user namespace")
    elif not root:
        held.append("RLIMIT_NPROC (not root)")
    if status.get("cgroup"):
        held.append("pids cgroup")
    n = limits.max_processes
    procs = (
        f"at most {n} ({'; '.join(held)})"
        if held
        else "NOT limited (root is exempt from RLIMIT_NPROC; no user namespace, no pids cgroup)"
    )
    cap = f"{limits.max_disk_mb} MB in total"
    disk = (
        f"{cap} (private tmpfs)"
        if status.get("disk")
        else f"{cap}, checked by the supervisor every {_QUOTA_POLL_S} s (no private tmpfs: "
        f"{status.get('disk_error', 'no mount namespace')})"
    )
    notes = [
        "network: allowed"
        if limits.network
        else "network: fresh namespace (no interfaces up)"
        if status.get("netns")
        else "network: NOT isolated (unshare refused: not root?)",
        (
            "files: Landlock (work dir only)"
            if status.get("landlock")
            else "files: NOT confined (Landlock unavailable)"
        )
        + ("; private root (Python install, work dir)" if status.get("disk") else ""),
        ("processes: own PID namespace, " if status.get("pidns") else "processes: shared, ")
        + procs,
        f"disk: {disk}",
    ]
    return "; ".join(notes), procs, disk


def _read_status(fd: int, deadline: float) -> dict[str, Any]:
    """What the bootstrap reports just before the program starts ({} if it never does)."""
    chunks = []
    while (remaining := deadline - time.perf_counter()) > 0:
        if not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    with contextlib.suppress(ValueError):
        status = json.loads(b"".join(chunks))
        if isinstance(status, dict):
            return status
    return {}


def run_python(
    code: str,
    work_dir: Path,
    limits: SandboxLimits = SandboxLimits(),
    *,
    filename: str = "main.py",
    keep_files: bool = True,
) -> SandboxResult:
    """Run code as work_dir/filename under the limits; never raises for what the code does.

    keep_files: leave what the program wrote in work_dir (at most max_disk_mb); if False only
    the program file stays."""
    if not filename or "/" in filename or os.sep in filename or ".." in filename:
        raise ValueError(f"filename must be a plain file name, not {filename!r}")
    work_dir = work_dir.resolve()
    (work_dir / ".tmp").mkdir(parents=True, exist_ok=True)
    (work_dir / filename).write_text(code, encoding="utf-8")
    root = os.geteuid() == 0
    cap = limits.max_disk_mb << 20
    cgroup = make_pids_cgroup(limits.max_processes) if _TRY["cgroup"] else None
    status_r, status_w = os.pipe()
    pipe = {status_r, status_w}  # still to close
    cfg = {
        "rlimits": {
            "RLIMIT_CPU": limits.cpu_s,
            "RLIMIT_AS": limits.memory_mb << 20,
            "RLIMIT_FSIZE": limits.max_file_mb << 20,
            "RLIMIT_CORE": 0,
        },
        "nproc": limits.max_processes,
        "network": limits.network,
        "read": _read_only_paths(),
        "work": str(work_dir),
        "file": filename,
        "status_fd": status_w,
        "pidns": root,
        "mountns": root and _TRY["mountns"],
        "userns": root and _TRY["userns"],
        "waiter": root,
        "disk_bytes": cap,
        "keep": keep_files,
        "cgroup": cgroup,
    }
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(work_dir),
        "TMPDIR": str(work_dir / ".tmp"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    started = time.perf_counter()
    deadline = started + limits.timeout_s
    timed_out = over_quota = False
    status: dict[str, Any] = {}
    quota = True  # until the bootstrap says a tmpfs holds the total
    try:
        with tempfile.TemporaryDirectory(prefix="crewyard-sandbox-") as tmp:
            out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
            with out_path.open("wb") as out, err_path.open("wb") as err:
                proc = subprocess.Popen(
                    [sys.executable, "-I", str(_BOOTSTRAP), json.dumps(cfg)],
                    cwd=work_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    pass_fds=(status_w,),
                )
            os.close(status_w)
            pipe.discard(status_w)
            try:
                pipe.discard(status_r)  # _read_status closes it
                status = _read_status(status_r, deadline)
                quota = not status.get("disk")  # the program writes into work_dir itself
                while (remaining := deadline - time.perf_counter()) > 0:
                    try:
                        proc.wait(timeout=min(remaining, _QUOTA_POLL_S) if quota else remaining)
                        break
                    except subprocess.TimeoutExpired:
                        if over_quota := quota and tree_bytes(work_dir) > cap:
                            break
                else:
                    timed_out = True
            finally:  # the PID namespace (through the waiter), then the whole group
                if proc.poll() is None and root:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, signal.SIGTERM)
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=_GRACE_S)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            stdout = _capped(out_path, limits.max_output_bytes)
            stderr = _capped(err_path, limits.max_output_bytes)
    finally:
        if cgroup:  # and whatever is still in it, however it left the process group
            remove_cgroup(cgroup)
        for fd in pipe:
            os.close(fd)
    if quota and (over_quota or not keep_files or tree_bytes(work_dir) > cap):
        clear_dir(work_dir, keep=filename)
    note, procs, disk = _limits_note(status, limits, root)
    code_ = None if timed_out or over_quota else proc.returncode
    return SandboxResult(
        exit_code=code_,
        stdout=stdout,
        stderr=stderr,
        timed_out=timed_out,
        killed_by="disk limit" if over_quota else _killed_by(code_, timed_out, stderr),
        network_isolated=bool(status.get("netns")),
        isolation_note=note,
        duration_s=time.perf_counter() - started,
        process_limit=procs,
        disk_limit=disk,
    )
