"""The network guard really blocks and records traffic beyond loopback."""

from __future__ import annotations

import _socket
import socket

import pytest

from tests.netguard import sitecustomize as netguard


def test_outside_connections_and_lookups_are_blocked_and_recorded() -> None:
    before = len(netguard.ATTEMPTS)
    # _socket is below pytest-socket's patch: this reaches the audit hook, as a subprocess would
    sock = _socket.socket()
    with pytest.raises(OSError, match="netguard"):
        sock.connect(("203.0.113.7", 443))  # TEST-NET-3: never routable
    sock.close()
    with pytest.raises(OSError, match="netguard"):
        _socket.getaddrinfo("telemetry.example.com", 443)
    seen = netguard.ATTEMPTS[before:]
    assert seen == ["connect 203.0.113.7:443", "dns telemetry.example.com"]
    del netguard.ATTEMPTS[before:]  # expected here; the autouse guard checks every other test


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
