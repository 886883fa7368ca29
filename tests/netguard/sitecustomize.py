"""Network guard: blocks and records every connection or DNS lookup beyond loopback.

In-process, tests/conftest.py installs it. In a subprocess, put this folder on PYTHONPATH
and set CREWYARD_NETGUARD_LOG=<file>: Python imports it as sitecustomize at start-up and each
blocked attempt is appended to that file as one line."""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any

ATTEMPTS: list[str] = []
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_installed = False


def _is_local(host: Any) -> bool:
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip("[]")
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _record(what: str) -> None:
    ATTEMPTS.append(what)
    log = os.environ.get("CREWYARD_NETGUARD_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(what + "\n")


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and not _is_local(address[0]):
            _record(f"connect {address[0]}:{address[1]}")
            raise OSError(f"netguard: connection to {address[0]} blocked (tests stay on loopback)")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if not _is_local(host):
            _record(f"dns {host}")
            raise OSError(f"netguard: DNS lookup of {host} blocked (tests stay on loopback)")


def install() -> None:
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True


if os.environ.get("CREWYARD_NETGUARD_LOG"):
    install()
