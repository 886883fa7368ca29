"""The MCP server (the official `mcp` SDK's low-level Server): every crew a tool, plus
runs_list, run_show and memory_search. A crew call runs on a thread of its own, reports its
tasks as progress notifications and stops when the client cancels it."""

from __future__ import annotations

import json
import queue
import sys
import threading
from typing import Any

import anyio
import mcp.types as types
from mcp.server.lowlevel import Server

from crewyard.errors import ConfigError, CrewyardError
from crewyard.mcp_server.catalog import BUILTIN_TOOLS, SCOPES, Catalog
from crewyard.mcp_server.runs import CrewRun, Step
from crewyard.settings import Settings

# how long a stopped run may take to record itself when the server shuts down
STOP_GRACE_S = 60.0


class CrewServer:
    """The server's state: settings, one gateway and one memory for every run, the runs."""

    def __init__(self, settings: Settings) -> None:
        from crewyard.gateway import Gateway
        from crewyard.gateway.cache import ResponseCache
        from crewyard.gateway.config import ModelTable

        self.settings = settings
        self.catalog = Catalog(settings.crews_dir)
        table = ModelTable.load(settings.models_file)  # a broken models.yaml stops the start
        cache = ResponseCache(settings.cache_dir) if settings.cache else None
        self.gateway = Gateway(table, cache)
        self._memory: Any = None
        self._lock = threading.Lock()
        self.runs: set[CrewRun] = set()
        self.server: Server[Any, Any] = Server("crewyard")
        self.server.list_tools()(self.list_tools)  # type: ignore[no-untyped-call]
        # inputs are checked by the crew's own rules, so errors read as the CLI's
        self.server.call_tool(validate_input=False)(self.call_tool)

    def memory(self) -> Any:
        """The shared memory, opened on first use (one embedded store for every run)."""
        with self._lock:
            if self._memory is None:
                from crewyard.memory import open_memory

                gateway = self.gateway if self.settings.embedder == "litellm" else None
                self._memory = open_memory(self.settings, gateway)
            return self._memory

    async def list_tools(self) -> list[types.Tool]:
        crews = await anyio.to_thread.run_sync(self.catalog.crew_tools)
        tools = [
            types.Tool(name=c.name, description=c.description, inputSchema=c.input_schema)
            for c in crews
        ]
        for name, (description, schema) in BUILTIN_TOOLS.items():
            tools.append(types.Tool(name=name, description=description, inputSchema=schema))
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        try:
            if name == "runs_list":
                data: Any = await anyio.to_thread.run_sync(self._runs_list, arguments)
                return _structured({"runs": data})
            if name == "run_show":
                return _structured(await anyio.to_thread.run_sync(self._run_show, arguments))
            if name == "memory_search":
                found = await anyio.to_thread.run_sync(self._memory_search, arguments)
                return _structured({"items": found})
            return await self._run_crew(name, arguments)
        except CrewyardError as exc:
            return _error(f"error: {exc}")

    async def _run_crew(self, name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        from crewyard import engines
        from crewyard.crews.loader import load_crew
        from crewyard.dispatcher import Dispatcher

        ctx = self.server.request_context
        progress_token = ctx.meta.progressToken if ctx.meta is not None else None
        spec = await anyio.to_thread.run_sync(
            lambda: load_crew(name, self.settings.crews_dir, engines.processes())
        )
        steps: queue.Queue[Step | None] = queue.Queue()

        def done() -> None:
            self.runs.discard(run)
            steps.put(None)

        run = CrewRun(spec, dict(arguments), on_step=steps.put, on_done=done)
        memory = await anyio.to_thread.run_sync(self.memory) if spec.memory.enabled else None
        dispatcher = Dispatcher(
            self.settings, gateway=self.gateway, memory=memory, listeners=[run.listener]
        )
        self.runs.add(run)
        run.start(dispatcher)
        try:
            while step := await anyio.to_thread.run_sync(steps.get, abandon_on_cancel=True):
                if progress_token is None:
                    continue
                try:
                    await ctx.session.send_progress_notification(
                        progress_token,
                        step.progress,
                        step.total,
                        step.message,
                        related_request_id=str(ctx.request_id),
                    )
                except Exception as exc:  # a client gone away: the run goes on to its end
                    print(f"warning: progress not sent: {exc}", file=sys.stderr, flush=True)
        except anyio.get_cancelled_exc_class():
            run.stop()  # the client cancelled (or went away): the run stops at its next event
            print(
                f"note: call of crew {name!r} cancelled; run {run.run_id or '(not started)'} "
                "stops at its next event",
                file=sys.stderr,
                flush=True,
            )
            raise
        return _outcome(run)

    def _runs_list(self, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        from crewyard.runs.store import RunStore

        limit = _int(arguments, "limit", 20, 1, 200)
        crew = _str(arguments, "crew", required=False)
        store = RunStore(self.settings.run_store)
        try:
            return [
                {
                    "id": r.id,
                    "crew": r.crew,
                    "status": r.status,
                    "cost_usd": r.cost_usd,
                    "total_tokens": r.usage.get("total_tokens", 0),
                    "started_at": r.started_at,
                    "finished_at": r.finished_at,
                }
                for r in store.recent(limit, crew)
            ]
        finally:
            store.close()

    def _run_show(self, arguments: dict[str, Any]) -> dict[str, Any]:
        from crewyard.runs.store import RunStore

        run_id = _str(arguments, "run_id")
        store = RunStore(self.settings.run_store)
        try:
            r = store.get(run_id or "")
            outputs = [
                {"task": c.task, "agent": c.agent, "output": c.output, "file": c.output_file}
                for c in store.checkpoints(r.id)
            ]
        finally:
            store.close()
        return {
            "id": r.id,
            "crew": r.crew,
            "status": r.status,
            "engine": r.engine,
            "inputs": r.inputs,
            "output": r.output,
            "error": r.error,
            "cost_usd": r.cost_usd,
            "usage": r.usage,
            "task_outputs": outputs,
            "output_dir": r.output_dir,
        }

    def _memory_search(self, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        query = _str(arguments, "query") or ""
        k = _int(arguments, "k", 8, 1, 100)
        crew = _str(arguments, "crew", required=False)
        scopes = arguments.get("scopes") or list(SCOPES)
        if not isinstance(scopes, list) or any(s not in SCOPES for s in scopes):
            raise ConfigError(f"scopes must be a list of: {', '.join(SCOPES)}", key="scopes")
        items = self.memory().search(query, scopes=tuple(scopes), k=k, crew=crew)
        return [
            {
                "id": i.id,
                "scope": i.scope,
                "text": i.text,
                "score": i.score,
                "crew": i.payload.get("crew"),
                "run_id": i.payload.get("run_id"),
            }
            for i in items
        ]

    def shut_down(self) -> None:
        """Stop the runs still going, give each time to record itself, free the memory."""
        for run in list(self.runs):
            run.stop()
        for run in list(self.runs):
            if not run.join(STOP_GRACE_S):
                print(f"warning: run {run.run_id} did not stop in time", file=sys.stderr)
        if self._memory is not None:
            self._memory.close()
            self._memory = None


def _outcome(run: CrewRun) -> types.CallToolResult:
    """The run's final output, or the error text the CLI prints for it."""
    from crewyard.dispatcher import RunFailed

    exc = run.error
    if run.result is not None:
        r = run.result
        return types.CallToolResult(
            content=[
                types.TextContent(type="text", text=r.output),
                types.TextContent(
                    type="text", text=f"run {r.run_id} · {r.status} · cost ${r.cost:.4f}"
                ),
            ],
            structuredContent={
                "run_id": r.run_id,
                "crew": r.crew,
                "status": r.status,
                "output": r.output,
                "cost_usd": r.cost,
                "total_tokens": r.usage.get("total_tokens", 0),
                "output_files": list(r.output_files),
            },
        )
    if isinstance(exc, RunFailed):
        saved = [t.task for t in exc.result.task_outputs]
        return _error(
            f"error: {exc}\nkept {len(saved)} finished task output(s): "
            f"{', '.join(saved) or 'none'}; see: python main.py runs show {exc.result.run_id}"
        )
    if isinstance(exc, CrewyardError):
        return _error(f"error: {exc}")
    if isinstance(exc, KeyboardInterrupt):
        return _error(f"interrupted: run {run.run_id} was stopped")
    return _error(f"error: {type(exc).__name__}: {exc}")


def _structured(data: dict[str, Any]) -> types.CallToolResult:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structuredContent=data
    )


def _error(text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)


def _str(arguments: dict[str, Any], key: str, *, required: bool = True) -> str | None:
    value = arguments.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("must be a non-empty string", key=key)
    return value


def _int(arguments: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = arguments.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"must be a whole number from {low} to {high}", key=key)
    return value
