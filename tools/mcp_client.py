"""The MCP client (the one client-side module that imports the `mcp` SDK): a run's MCP servers
started on an event-loop thread of their own, each tool a crewyard Tool named SERVER__TOOL,
every call with the server's timeout, and every session closed (child processes ended) when
the run ends, whatever way it ends."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
from mcp import ClientSession, McpError, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from pydantic import BaseModel, ValidationError

from crewyard.errors import ConfigError
from crewyard.redact import logger, redact, treat_value_as_secret
from crewyard.tools.mcp_spec import SEPARATOR, VARIABLE, McpServerSpec, args_model, expand

T = TypeVar("T")
STDERR_TAIL_CHARS = 800
STDERR_TAIL_LINES = 6


class McpToolError(Exception):
    """A call the server could not answer (it died, timed out, or the tool failed)."""


@dataclass
class _Server:
    name: str
    spec: McpServerSpec
    stderr: Path | None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    session: ClientSession | None = None
    task: asyncio.Task[None] | None = None  # the task holding the session

    def ready_seen(self) -> bool:
        return self.session is not None

    gone: str | None = None  # why its session ended before the run did

    def tail(self) -> str:
        """The last lines the server wrote on stderr (stdio servers), or ''."""
        if self.stderr is None or not self.stderr.is_file():
            return ""
        text = self.stderr.read_text(encoding="utf-8", errors="replace")[-STDERR_TAIL_CHARS:]
        lines = [" ".join(line.split()) for line in text.splitlines()]
        return redact("\n".join([line for line in lines if line][-STDERR_TAIL_LINES:]))

    def said(self) -> str:
        tail = self.tail()
        return f"; its stderr ends: {tail}" if tail else ""


@dataclass(frozen=True)
class McpTool:
    """One tool of an MCP server, as a crewyard Tool."""

    name: str
    description: str
    args: type[BaseModel]
    tool: str  # the server's own name for it
    server: _Server
    clients: McpClients
    required: frozenset[str] = frozenset()

    def call(self, **kwargs: Any) -> str:
        try:
            checked = self.args.model_validate(kwargs)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            return f"error: bad arguments for {self.name}: {problems}"
        # an engine may pass every optional argument as null (CrewAI does): those are left out
        dumped = checked.model_dump(mode="json", by_alias=True, exclude_unset=True)
        arguments = {k: v for k, v in dumped.items() if v is not None or k in self.required}
        return self.clients.call(self.server, self.tool, arguments)


class McpClients:
    """The MCP servers of one run: start() them, read .tools, close() at the end.

    Their sessions live on one event loop of the run's own, driven by whichever thread calls
    a tool (one at a time; from a thread with a loop of its own running, by a helper thread),
    so a call costs what a bare ClientSession call costs, with no hop between threads.
    Between calls the loop rests: what a server sends meanwhile waits in its pipe."""

    def __init__(self, log_dir: Path, run_id: str) -> None:
        self.log_dir = log_dir
        self.run_id = run_id
        self.tools: dict[str, McpTool] = {}
        self.owners: dict[str, str | None] = {}  # tool → the agent it belongs to (None: all)
        self.started: dict[str, list[str]] = {}  # server → its tools' names
        self.failed: dict[str, str] = {}  # optional server that did not start → why
        self._servers: list[_Server] = []
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()

    def __enter__(self) -> McpClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _drive(self, work: Callable[[], Awaitable[T]], timeout: float | None) -> T:
        """Run work() on the run's loop until it is done (or timeout seconds pass)."""

        def run() -> T:
            with self._lock:
                if self._loop.is_closed():
                    raise McpToolError("the run's MCP sessions are closed")
                return self._loop.run_until_complete(asyncio.wait_for(work(), timeout))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        box: list[Any] = []  # this thread runs a loop: a helper thread drives ours

        def helper() -> None:
            try:
                box.append((True, run()))
            except BaseException as exc:
                box.append((False, exc))

        thread = threading.Thread(target=helper, name=f"mcp-{self.run_id}")
        thread.start()
        thread.join()
        ok, value = box[0]
        if not ok:
            raise value
        return cast(T, value)

    def start(self, servers: dict[str, McpServerSpec]) -> None:
        """Start every server at once and list its tools; a required one that fails raises
        ConfigError (naming it and its stderr tail), an optional one goes to .failed."""
        for name, spec in servers.items():
            for value in spec.headers.values():
                if not VARIABLE.search(value):
                    treat_value_as_secret(value)
            stderr = self.log_dir / f"{self.run_id}.mcp-{name}.stderr.log" if spec.command else None
            self._servers.append(_Server(name, spec, stderr))

        async def start_all() -> list[list[types.Tool] | BaseException]:
            readies = []
            for server in self._servers:
                ready: asyncio.Future[list[types.Tool]] = self._loop.create_future()
                server.task = self._loop.create_task(self._own(server, ready))
                limit = server.spec.startup_timeout_s
                readies.append(asyncio.wait_for(asyncio.shield(ready), limit))
            return await asyncio.gather(*readies, return_exceptions=True)

        outcomes = self._drive(start_all, None)
        refused = None
        for server, outcome in zip(self._servers, outcomes, strict=True):
            if not isinstance(outcome, BaseException):
                self._register(server, outcome)
                continue
            why = _startup_problem(server, outcome)
            self._stop(server)
            if server.spec.required and refused is None:
                refused = ConfigError(
                    f"MCP server {server.name!r} did not start: {why}{server.said()}",
                    hint=_startup_hint(server),
                )
            self.failed[server.name] = why + server.said()
        if refused is not None:
            self.close()
            raise refused

    def _register(self, server: _Server, listed: list[types.Tool]) -> None:
        names = []
        for found in listed:
            if not server.spec.tools.admits(found.name):
                continue
            name = f"{server.name}{SEPARATOR}{found.name}"
            self.tools[name] = McpTool(
                name=name,
                description=found.description or found.title or found.name,
                args=args_model(name, found.inputSchema),
                tool=found.name,
                server=server,
                clients=self,
                required=frozenset(found.inputSchema.get("required") or ()),
            )
            self.owners[name] = server.spec.agent
            names.append(name)
        self.started[server.name] = names

    async def _own(self, server: _Server, ready: asyncio.Future[list[types.Tool]]) -> None:
        """Opens the server's session, lists its tools, holds the session until stop is set
        (so every context is left in the task that entered it), then closes it."""
        spec = server.spec
        try:
            async with AsyncExitStack() as stack:
                if spec.command is not None:
                    assert server.stderr is not None
                    errlog = stack.enter_context(server.stderr.open("w", encoding="utf-8"))
                    params = StdioServerParameters(
                        command=spec.command,
                        args=list(spec.args),
                        env=expand(spec.env) if spec.env else None,
                        cwd=spec.cwd,
                    )
                    read, write = await stack.enter_async_context(stdio_client(params, errlog))
                else:
                    assert spec.url is not None
                    timeout = httpx.Timeout(spec.startup_timeout_s, read=spec.timeout_s + 5)
                    client = create_mcp_http_client(expand(spec.headers), timeout)
                    await stack.enter_async_context(client)
                    read, write, _ = await stack.enter_async_context(
                        streamable_http_client(spec.url, http_client=client)
                    )
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                listed: list[types.Tool] = []
                cursor: str | None = None
                while True:
                    page = await session.list_tools(
                        params=types.PaginatedRequestParams(cursor=cursor) if cursor else None
                    )
                    listed += page.tools
                    cursor = page.nextCursor
                    if not cursor:
                        break
                server.session = session
                ready.set_result(listed)
                await server.stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(_leaf(exc))
            else:
                server.gone = f"{type(_leaf(exc)).__name__}: {_leaf(exc)}"
            if not isinstance(exc, Exception | asyncio.CancelledError):
                raise

    def call(self, server: _Server, tool: str, arguments: dict[str, Any]) -> str:
        """Call one tool and wait for its answer (at most the server's timeout)."""
        session = server.session
        if session is None or server.gone is not None or server.stop.is_set():
            raise McpToolError(
                f"MCP server {server.name!r} is not running ({server.gone or 'closed'})"
                + server.said()
            )
        timeout = server.spec.timeout_s
        try:
            result = self._drive(
                lambda: session.call_tool(tool, arguments, timedelta(seconds=timeout)),
                timeout + 5,
            )
        except TimeoutError:
            raise McpToolError(_timed_out(server, tool)) from None
        except McpError as exc:
            if exc.error.code == httpx.codes.REQUEST_TIMEOUT:
                raise McpToolError(_timed_out(server, tool)) from None
            if exc.error.code == types.CONNECTION_CLOSED:
                server.gone = "it stopped: connection closed"
            raise McpToolError(
                f"MCP server {server.name!r}: {exc.error.message}{server.said()}"
            ) from None
        except McpToolError:
            raise
        except Exception as exc:
            raise McpToolError(
                f"MCP server {server.name!r}: {type(exc).__name__}: {exc}{server.said()}"
            ) from None
        text = _text(result)
        if result.isError:
            raise McpToolError(f"MCP server {server.name!r}, tool {tool}: {text}")
        return text

    def _stop(self, server: _Server) -> None:
        """End one server's task (a stdio server's process with it) and wait for that."""
        task = server.task
        if task is None or task.done():
            return

        async def stop() -> None:
            server.stop.set()
            if not server.ready_seen():
                task.cancel()
            await asyncio.wait({task}, timeout=10)
            if not task.done():  # its contexts would not close: cancel them
                task.cancel()
                await asyncio.wait({task}, timeout=5)

        try:
            self._drive(stop, None)
        except BaseException as exc:  # closing goes on whatever one server did
            logger.debug(f"MCP server {server.name} closed with {exc!r}")

    def close(self) -> None:
        """End every session (a stdio server's process with it) and the run's loop."""
        if self._loop.is_closed():
            return
        for server in self._servers:
            self._stop(server)

        async def rest() -> None:
            mine = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not mine and not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
            await self._loop.shutdown_asyncgens()

        try:
            self._drive(rest, None)
        finally:
            with self._lock:
                self._loop.close()


def open_mcp(servers: dict[str, McpServerSpec], log_dir: Path, run_id: str) -> McpClients:
    """A run's MCP servers, started (raises ConfigError when a required one cannot start)."""
    clients = McpClients(log_dir, run_id)
    if servers:
        clients.start(servers)
    return clients


def _text(result: types.CallToolResult) -> str:
    """A tool's answer as text: its content blocks joined; structured content as JSON when
    there is no text."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, types.TextContent):
            parts.append(block.text)
        elif isinstance(block, types.EmbeddedResource):
            res = block.resource
            text = getattr(res, "text", None)
            parts.append(text if isinstance(text, str) else f"[resource {res.uri}]")
        elif isinstance(block, types.ResourceLink):
            parts.append(f"[resource link {block.uri}]")
        else:
            parts.append(f"[{block.type} {getattr(block, 'mimeType', '')}]".replace(" ]", "]"))
    if not parts and result.structuredContent is not None:
        return json.dumps(result.structuredContent, ensure_ascii=False)
    return "\n".join(parts)


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _startup_problem(server: _Server, exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no handshake within startup_timeout_s={server.spec.startup_timeout_s:g}s"
    if isinstance(exc, McpError):
        return exc.error.message
    if isinstance(exc, FileNotFoundError | PermissionError) and server.spec.command:
        return f"cannot run {server.spec.command!r}: {exc.strerror or exc}"
    return redact(f"{type(exc).__name__}: {exc}")


def _startup_hint(server: _Server) -> str:
    where = f"{server.stderr} holds its stderr; " if server.stderr else ""
    return (
        f"{where}check mcp_servers.{server.name} in crew.yaml (or the agent's mcps:), "
        "or set required: false to run without it"
    )


def _timed_out(server: _Server, tool: str) -> str:
    return (
        f"MCP server {server.name!r}: {tool} did not answer within "
        f"timeout_s={server.spec.timeout_s:g}s"
    )
