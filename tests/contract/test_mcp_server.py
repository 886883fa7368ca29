"""`python main.py mcp serve` as a subprocess, driven by the official `mcp` client SDK over
stdio and over streamable HTTP: the tool list, a crew run with progress, a bad input, the run
tools after it, the bearer token, and a cancelled long run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import anyio
import mcp.types as types
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import McpError

from crewyard.settings import Settings
from tests.conftest import MakeCrew, standard_at
from tests.fakellm.server import FakeLLM, Reply

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-0123456789abcdef"
TYPED_INPUTS = {
    "topic": {"type": "str", "description": "Subject"},
    "count": {"type": "int", "default": 3, "description": "How many"},
    "ratio": {"type": "float", "required": False},
    "strict": {"type": "bool", "default": False},
    "tags": {"type": "list", "required": False},
    "extra": {"type": "dict", "required": False},
}
REPLIES = ["Final Answer: - tides follow the moon", "# Tides\nThe moon pulls the sea."]


@pytest.fixture
def env(settings: Settings, two_step_crew: Path, make_crew: MakeCrew) -> dict[str, str]:
    make_crew(
        "typed",
        crew={"description": "Every input type", "inputs": TYPED_INPUTS},
        agents={"a": {"role": "R", "goal": "G {topic}", "backstory": "B"}},
        tasks={"t": {"description": "D {topic}", "expected_output": "E", "agent": "a"}},
    )
    make_crew("broken", crew="process: [unclosed")
    models = {"aliases": {"standard": {"model": "scripted/main", "script": REPLIES}}}
    settings.models_file.write_text(json.dumps(models))
    return {
        **os.environ,
        "CREWYARD_DATA_DIR": str(settings.data_dir),
        "CREWYARD_CREWS_DIR": str(settings.crews_dir),
        "CREWYARD_MODELS_FILE": str(settings.models_file),
    }


Scenario = Callable[[ClientSession], Awaitable[None]]


def over_stdio(env: dict[str, str], scenario: Scenario, errlog: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["main.py", "mcp", "serve"], env=env, cwd=str(ROOT)
    )

    async def main() -> None:
        with errlog.open("w") as err:
            async with (
                stdio_client(params, errlog=err) as (read, write),
                ClientSession(read, write, read_timeout_seconds=timedelta(seconds=300)) as s,
            ):
                await s.initialize()
                await scenario(s)

    anyio.run(main)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def http_session(url: str, token: str) -> AsyncIterator[ClientSession]:
    client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    async with (
        client,
        streamable_http_client(url, http_client=client) as (read, write, _),
        ClientSession(read, write, read_timeout_seconds=timedelta(seconds=300)) as session,
    ):
        await session.initialize()
        yield session


def start_http(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    err = (tmp_path / "http-server.err").open("wb")
    server = subprocess.Popen(
        [sys.executable, "main.py", "mcp", "serve", "--http", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env={**env, "CREWYARD_MCP_TOKEN": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=err,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            assert server.poll() is None, (tmp_path / "http-server.err").read_text()
            time.sleep(0.2)
    server.kill()
    raise AssertionError("the HTTP server did not start")


async def check_tools(session: ClientSession) -> None:
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {"demo", "typed", "runs_list", "run_show", "memory_search"}
    assert tools["demo"].description and "Two steps" in tools["demo"].description
    assert tools["demo"].inputSchema["required"] == ["topic"]
    typed = tools["typed"].inputSchema
    types_ = {k: v["type"] for k, v in typed["properties"].items()}
    assert types_ == {
        "topic": "string",
        "count": "integer",
        "ratio": "number",
        "strict": "boolean",
        "tags": "array",
        "extra": "object",
    }
    assert typed["required"] == ["topic"]
    assert typed["properties"]["count"]["default"] == 3
    assert typed["properties"]["topic"]["description"] == "Subject"


async def run_demo(session: ClientSession) -> str:
    steps: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        steps.append((done, total, message))

    result = await session.call_tool("demo", {"topic": "tides"}, progress_callback=progress)
    assert not result.isError, result.content
    assert result.content[0].text == REPLIES[1]  # type: ignore[union-attr]
    assert result.structuredContent is not None
    run_id = str(result.structuredContent["run_id"])
    assert [m for _, _, m in steps] == [
        "task research (researcher) started",
        "task research (researcher) finished",
        "task write (writer) started",
        "task write (writer) finished",
    ]
    assert [(d, t) for d, t, _ in steps] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    return run_id


async def check_run_tools(session: ClientSession, run_id: str) -> None:
    listed = await session.call_tool("runs_list", {})
    runs = listed.structuredContent["runs"]  # type: ignore[index]
    assert [(r["id"], r["crew"], r["status"]) for r in runs] == [(run_id, "demo", "done")]
    shown = (await session.call_tool("run_show", {"run_id": run_id})).structuredContent
    assert shown is not None and shown["status"] == "done" and shown["error"] is None
    assert [t["task"] for t in shown["task_outputs"]] == ["research", "write"]
    assert shown["output"] == REPLIES[1]
    missing = await session.call_tool("run_show", {"run_id": "no-such-run"})
    assert missing.isError and "error: no run 'no-such-run'" in missing.content[0].text  # type: ignore[union-attr]


async def check_bad_inputs(session: ClientSession) -> None:
    bad = await session.call_tool("typed", {"topic": "x", "count": "many"})
    assert bad.isError
    text = bad.content[0].text  # type: ignore[union-attr]
    assert text.startswith("error: count: input 'count' must be int"), text
    missing = await session.call_tool("demo", {})
    assert missing.isError
    assert "crew 'demo' needs input 'topic' (Subject)" in missing.content[0].text  # type: ignore[union-attr]
    unknown = await session.call_tool("nosuchcrew", {})
    assert unknown.isError and unknown.content[0].text.startswith("error: ")  # type: ignore[union-attr]


def test_over_stdio_tools_a_run_with_progress_bad_inputs_and_the_run_tools(
    env: dict[str, str], tmp_path: Path
) -> None:
    async def scenario(session: ClientSession) -> None:
        await check_tools(session)
        await check_bad_inputs(session)
        run_id = await run_demo(session)
        await check_run_tools(session, run_id)
        found = await session.call_tool("memory_search", {"query": "tides", "crew": "demo"})
        assert not found.isError, found.content
        items = found.structuredContent["items"]  # type: ignore[index]
        assert items and all(i["crew"] == "demo" for i in items)

    errlog = tmp_path / "stdio.err"
    over_stdio(env, scenario, errlog)
    assert "crew 'broken' is not offered, it does not load" in errlog.read_text()


def test_over_http_a_token_is_required_and_a_run_goes_through(
    env: dict[str, str], tmp_path: Path
) -> None:
    refused = subprocess.run(
        [sys.executable, "main.py", "mcp", "serve", "--http", "127.0.0.1:1"],
        cwd=ROOT,
        env={k: v for k, v in env.items() if k != "CREWYARD_MCP_TOKEN"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert "CREWYARD_MCP_TOKEN" in refused.stderr and "fix: export" in refused.stderr
    server, url = start_http(env, tmp_path)
    try:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            request = urllib.request.Request(url, data=b"{}", headers=headers, method="POST")
            with pytest.raises(urllib.error.HTTPError) as refused_call:
                urllib.request.urlopen(request, timeout=30)
            assert refused_call.value.code == 401

        async def main() -> None:
            async with http_session(url, TOKEN) as session:
                await check_tools(session)
                await check_bad_inputs(session)
                run_id = await run_demo(session)
                await check_run_tools(session, run_id)

        anyio.run(main)
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_cancelled_call_stops_its_run_at_the_next_event(
    env: dict[str, str],
    settings: Settings,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    standard_at(settings, fakellm.url, monkeypatch)
    fakellm.add(Reply("Final Answer: - a fact", latency=3.0), Reply("# Report", latency=3.0))
    fakellm.allow_unused()  # the second task never asks
    env = {**env, "FAKELLM_API_KEY": os.environ["FAKELLM_API_KEY"]}
    seen: list[str] = []
    statuses: list[str] = []

    async def scenario(session: ClientSession) -> None:
        started = anyio.Event()

        async def progress(done: float, total: float | None, message: str | None) -> None:
            seen.append(str(message))
            started.set()

        request_id = session._request_id  # the id the next request gets
        cancelled: list[BaseException] = []

        async def call() -> None:
            try:
                await session.call_tool("demo", {"topic": "x"}, progress_callback=progress)
            except McpError as exc:
                cancelled.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            with anyio.fail_after(120):
                await started.wait()
            await session.send_notification(
                types.ClientNotification(
                    types.CancelledNotification(
                        params=types.CancelledNotificationParams(
                            requestId=request_id, reason="enough"
                        )
                    )
                )
            )
        assert [str(e) for e in cancelled] == ["Request cancelled"]
        with anyio.fail_after(60):
            while not statuses or statuses[-1] == "running":
                await anyio.sleep(0.3)
                runs = (await session.call_tool("runs_list", {})).structuredContent
                statuses[:] = [r["status"] for r in runs["runs"]]  # type: ignore[index]

    over_stdio(env, scenario, tmp_path / "stdio.err")
    assert seen == ["task research (researcher) started"]
    assert statuses == ["interrupted"]
    assert len(fakellm.requests) == 1  # the run stopped after the call under way returned


def test_http_addresses_default_to_loopback_and_others_are_told_apart() -> None:
    from crewyard.errors import ConfigError
    from crewyard.mcp_server.transports import is_loopback, parse_address

    assert parse_address("8765") == ("127.0.0.1", 8765)
    assert parse_address(":8765") == ("127.0.0.1", 8765)
    assert parse_address("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("host", "host:0", "host:99999", "host:x"):
        with pytest.raises(ConfigError, match="is not HOST:PORT"):
            parse_address(bad)
    assert [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost")] == [True] * 3
    assert [is_loopback(h) for h in ("0.0.0.0", "192.168.1.2", "example.org")] == [False] * 3
