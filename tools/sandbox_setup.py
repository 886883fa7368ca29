"""The sandbox's two sides of the wall (see tools/sandbox.py).

Run as a script (`python -I sandbox_setup.py CFG`) this is the bootstrap: it confines itself,
then runs the program, importing only the standard library. As root it stays outside as a
waiter that keeps its privileges (B) and forks the program's process (C):

- B, still root: a fresh network namespace; a private mount namespace whose root is an empty
  read-only tmpfs holding only bind mounts of the Python install and, at the work dir's own
  path, a size-limited tmpfs (the disk cap: everything the program writes, in total); a fresh
  PID namespace (C is its PID 1).
- C: a user namespace mapping uid/gid 65534 to 65534, so the program is not root and
  RLIMIT_NPROC binds (the kernel exempts uid 0 only); all capabilities dropped, no new
  privileges, Landlock, then the program.
- B maps C's ids, waits for it (SIGTERM makes it kill C, and with it the PID namespace), copies
  the tmpfs back into the real work dir when asked (regular files and folders only, never
  following a link), and exits as C did.

Each step the kernel refuses is reported in the status C writes; without a mount namespace the
program writes into the real work dir and the supervisor checks the total instead.
Imported, this module gives the supervisor its helpers: a pids cgroup, the quota check."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

NOBODY = 65534
MAX_INODES = 10_000  # files and folders the program may create in its tmpfs
CLONE_NEWNS, CLONE_NEWUSER = 0x00020000, 0x10000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT = 1, 2, 4, 32
MS_BIND, MS_REC, MS_PRIVATE, MNT_DETACH = 4096, 16384, 1 << 18, 2
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


# --- supervisor side ---------------------------------------------------------------------


def make_pids_cgroup(limit: int) -> str | None:
    """A fresh cgroup (v1 or v2) with pids.max = limit, or None where none can be made."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in own:  # "8:pids:/path" (v1) or "0::/path" (v2)
        _, controllers, rel = line.split(":", 2)
        v2 = controllers == ""
        if not v2 and "pids" not in controllers.split(","):
            continue
        for mount in mounts:
            fields, _, fs = mount.partition(" - ")
            fstype, _, options = fs.partition(" ")
            parts = fields.split(" ")
            superopts = options.rpartition(" ")[2].split(",")
            wanted = fstype == "cgroup2" if v2 else fstype == "cgroup" and "pids" in superopts
            if not wanted or parts[3] != "/":
                continue
            path = os.path.join(parts[4] + rel, f"crewyard-sandbox-{secrets.token_hex(6)}")
            try:
                os.mkdir(path)
            except OSError:
                continue
            try:
                Path(path, "pids.max").write_text(str(limit))
                return path
            except OSError:  # no pids controller here (a v2 parent that does not delegate it)
                os.rmdir(path)
    return None


def remove_cgroup(path: str) -> None:
    """Kill whatever is still in the cgroup (however it left the process group), remove it."""
    for _ in range(300):
        try:
            pids = Path(path, "cgroup.procs").read_text().split()
        except OSError:
            return
        if not pids:
            with contextlib.suppress(OSError):
                os.rmdir(path)
                return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.01)


def tree_bytes(path: Path) -> int:
    """Bytes on disk under path (allocated blocks: sparse files count what they use)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
    return total


def clear_dir(path: Path, keep: str) -> None:
    """Remove everything in path but the file keep (never following links)."""
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        for entry in entries:
            if entry.name == keep and entry.is_file(follow_symlinks=False):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


# --- child side ----------------------------------------------------------------------------


def _check(libc: Any, ret: int, what: str) -> None:
    if ret != 0:
        import ctypes

        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(
    libc: Any, src: str | None, dst: str, fstype: str | None, flags: int, data: str = ""
) -> None:
    import ctypes

    def enc(text: str | None) -> bytes | None:
        return text.encode() if text else None

    ret = libc.mount(enc(src), dst.encode(), enc(fstype), ctypes.c_ulong(flags), enc(data))
    _check(libc, ret, f"mount {dst}")


def _survey(paths: list[str]) -> tuple[dict[str, str], dict[str, tuple[int, bool]]]:
    """The links on the way to each path (to recreate) and each real path, held open (to bind
    from /proc/self/fd, whatever gets mounted over it meanwhile), with whether it is a folder."""
    links: dict[str, str] = {}
    points: dict[str, tuple[int, bool]] = {}
    for path in paths:
        cur = "/"
        for part in path.strip("/").split("/"):
            nxt = os.path.join(cur, part)
            if os.path.islink(nxt):
                links[nxt] = os.readlink(nxt)
                nxt = os.path.realpath(nxt)
            cur = nxt
        if cur not in points and os.path.exists(cur):
            points[cur] = (os.open(cur, os.O_PATH | os.O_CLOEXEC), os.path.isdir(cur))
    return links, points


def _private_root(libc: Any, cfg: dict[str, Any]) -> None:
    """A private root: the read paths bound read-only, the work dir a size-limited tmpfs."""
    work, name = cfg["work"], cfg["file"]
    code = Path(work, name).read_bytes()
    links, points = _survey(cfg["read"])
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)  # nothing propagates back to the host
    root = work  # built on top of the work dir, in this namespace only
    _mount(libc, "tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    try:
        for link, target in links.items():
            os.makedirs(os.path.dirname(root + link), 0o755, exist_ok=True)
            os.symlink(target, root + link)
        for path, (_, is_dir) in points.items():
            if is_dir:
                os.makedirs(root + path, 0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(root + path), 0o755, exist_ok=True)
                os.close(os.open(root + path, os.O_CREAT | os.O_WRONLY, 0o644))
        os.makedirs(root + work, 0o755, exist_ok=True)
        for path, (fd, is_dir) in sorted(points.items()):
            if not any(o != path and path.startswith(o.rstrip("/") + "/") for o in points):
                _mount(libc, f"/proc/self/fd/{fd}", root + path, None, MS_BIND | MS_REC)
                if is_dir:
                    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
                    _mount(libc, None, root + path, None, flags)
        size = f"size={cfg['disk_bytes']},nr_inodes={MAX_INODES},mode=0777"
        _mount(libc, "tmpfs", root + work, "tmpfs", MS_NOSUID | MS_NODEV, size)
        Path(root + work, name).write_bytes(code)
        os.chmod(root + work + "/" + name, 0o666)
        os.mkdir(root + work + "/.tmp", 0o777)
        os.chmod(root + work + "/.tmp", 0o777)
        _mount(libc, None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    except OSError:
        libc.umount2(root.encode(), MNT_DETACH)  # back to the real work dir
        raise
    finally:
        for fd, _ in points.values():
            os.close(fd)
    os.chdir(root)  # from here on there is no way back: failing is fatal, never silent
    if getattr(libc, "pivot_root", None) and libc.pivot_root(b".", b".") == 0:
        if libc.umount2(b".", MNT_DETACH) != 0:
            raise SystemExit("sandbox: cannot detach the old root")
    else:
        try:
            os.chroot(".")
        except OSError as exc:
            raise SystemExit(f"sandbox: cannot enter the private root: {exc}") from None
    os.chdir(work)


def _copy_tree(src: int, dst: int) -> None:
    """Copy the folders and regular files of src into dst, opening nothing through a link."""
    stack = [(src, dst)]
    while stack:
        s, d = stack.pop()
        try:
            for entry in os.scandir(s):
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        with contextlib.suppress(FileExistsError):
                            os.mkdir(entry.name, 0o755, dir_fd=d)
                        sub = os.open(entry.name, _DIR, dir_fd=s)
                        try:
                            stack.append((sub, os.open(entry.name, _DIR, dir_fd=d)))
                        except OSError:
                            os.close(sub)
                    elif entry.is_file(follow_symlinks=False):
                        _copy_file(entry.name, s, d)
        finally:
            os.close(s)
            os.close(d)


def _copy_file(name: str, s: int, d: int) -> None:
    src = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=s)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        dst = os.open(name, flags, 0o644, dir_fd=d)
        try:
            while os.sendfile(dst, src, None, 1 << 20):
                pass
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _waiter(child: int, cfg: dict[str, Any], fds: dict[str, int], disk: bool) -> NoReturn:
    """B: maps C's ids, waits for it, copies its files back if asked, exits as it did."""
    pidfd = None
    with contextlib.suppress(OSError, AttributeError):
        pidfd = os.pidfd_open(child)

    def stop(*_: object) -> None:  # the supervisor's timeout: C is PID 1, its end ends them all
        with contextlib.suppress(OSError):
            if pidfd is None:
                os.kill(child, signal.SIGKILL)
            else:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)

    signal.signal(signal.SIGTERM, stop)
    for name in ("status", "req_w", "ack_r"):
        os.close(fds[name])
    if os.read(fds["req_r"], 1) == b"u":  # C made its user namespace: map it
        mapped = True
        for ids in ("uid_map", "gid_map"):
            try:
                fd = os.open(f"{child}/{ids}", os.O_WRONLY, dir_fd=fds["proc"])
                try:
                    os.write(fd, f"{NOBODY} {NOBODY} 1".encode())
                finally:
                    os.close(fd)
            except OSError:
                mapped = False
        os.write(fds["ack_w"], b"1" if mapped else b"0")
    _, wait_status, usage = os.wait4(child, 0)
    code = os.waitstatus_to_exitcode(wait_status)
    # As PID 1 of its namespace the program ignores SIGXCPU, so the hard limit's SIGKILL
    # ends it: report that as the CPU limit it is.
    if code == -9 and usage.ru_utime + usage.ru_stime >= cfg["rlimits"]["RLIMIT_CPU"]:
        code = -24
    if cfg["keep"] and disk:
        with contextlib.suppress(OSError):
            _copy_tree(os.open(cfg["work"], _DIR), fds["real"])
    if code < 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code)


def _enter_userns(libc: Any, fds: dict[str, int]) -> bool:
    """C: a user namespace where uid 65534 is 65534 outside too (mapped by B)."""
    if libc.unshare(CLONE_NEWUSER) != 0:
        return False
    os.write(fds["req_w"], b"u")
    if os.read(fds["ack_r"], 1) != b"1":
        return False
    os.setgroups([])
    os.setresgid(NOBODY, NOBODY, NOBODY)
    os.setresuid(NOBODY, NOBODY, NOBODY)
    return True


def _drop_capabilities(libc: Any) -> None:
    import ctypes

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [(n, ctypes.c_uint32) for n in ("effective", "permitted", "inheritable")]

    _check(libc, libc.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)()), "capset")


def _landlock(libc: Any, read: list[str], write: list[str]) -> bool:
    import ctypes

    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(..., VERSION)
    if abi <= 0:
        return False
    handled = (1 << (15 if abi >= 3 else 14 if abi >= 2 else 13)) - 1
    attr = ctypes.c_uint64(handled)
    ruleset = libc.syscall(444, ctypes.byref(attr), 8, 0)

    class Beneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]

    file_rights = 1 | 2 | 4 | ((1 << 14) if abi >= 3 else 0)
    rules = [(p, 1 | 4 | 8) for p in read] + [(p, handled) for p in write]
    for path, rights in rules:  # read-only: execute, read file, read dir
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            continue
        allowed = rights if os.path.isdir(path) else rights & file_rights
        libc.syscall(445, ruleset, 1, ctypes.byref(Beneath(allowed, fd)), 0)
        os.close(fd)
    return bool(libc.syscall(446, ruleset, 0) == 0)


def main(cfg: dict[str, Any]) -> None:
    import ctypes
    import resource
    import runpy

    libc = ctypes.CDLL(None, use_errno=True)
    status: dict[str, Any] = {}
    os.umask(0o022)
    if cfg["cgroup"]:
        try:
            Path(cfg["cgroup"], "cgroup.procs").write_text(str(os.getpid()))
            status["cgroup"] = True
        except OSError:
            status["cgroup"] = False
    for name, value in cfg["rlimits"].items():  # CPU: SIGXCPU at the soft limit, not SIGKILL
        resource.setrlimit(getattr(resource, name), (value, value + (name == "RLIMIT_CPU")))
    if not cfg["network"]:
        status["netns"] = libc.unshare(CLONE_NEWNET) == 0
    fds = {"status": cfg["status_fd"], "real": os.open(cfg["work"], _DIR)}
    if cfg["mountns"] and libc.unshare(CLONE_NEWNS) == 0:
        fds["proc"] = os.open("/proc", _DIR)
        try:
            _private_root(libc, cfg)
            status["disk"] = True
        except OSError as exc:
            status["disk_error"] = exc.strerror or str(exc)
    if cfg["pidns"]:
        status["pidns"] = libc.unshare(CLONE_NEWPID) == 0  # takes effect for a child
    if cfg["waiter"]:
        fds["req_r"], fds["req_w"] = os.pipe()
        fds["ack_r"], fds["ack_w"] = os.pipe()
        child = os.fork()
        if child:
            _waiter(child, cfg, fds, bool(status.get("disk")))
        os.close(fds["req_r"])
        os.close(fds["ack_w"])
        if cfg["userns"] and status.get("disk"):  # 65534 reads Python in the private root only
            status["userns"] = _enter_userns(libc, fds)
        os.close(fds["req_w"])
        os.close(fds["ack_r"])
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: B gone, C (PID 1) goes
    for name in ("real", "proc"):
        if name in fds:
            os.close(fds[name])
    resource.setrlimit(resource.RLIMIT_NPROC, (cfg["nproc"], cfg["nproc"]))
    _drop_capabilities(libc)
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: needed by Landlock, keeps setuid off
    status["landlock"] = _landlock(libc, cfg["read"], [cfg["work"]])
    with os.fdopen(cfg["status_fd"], "w") as out:
        json.dump(status, out)
    sys.argv = [cfg["file"]]
    runpy.run_path(cfg["file"], run_name="__main__")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
