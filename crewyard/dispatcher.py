"""The dispatcher: picks the engine for a crew, builds its RunContext, runs it, records it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crewyard import engines
from crewyard.context import RunContext
from crewyard.crews.inputs import resolve_inputs
from crewyard.crews.spec import CrewSpec
from crewyard.crews.templates import filled
from crewyard.crews.tooling import check_tool_needs, run_tools
from crewyard.errors import ConfigError
from crewyard.gateway.config import ModelTable
from crewyard.human import Human, RunHuman
from crewyard.observe import spans
from crewyard.observe.logs import StartUp, run_log
from crewyard.outcome import (
    INTERRUPTED,
    RunFailed,
    RunInterrupted,
    RunWaiting,
    status_of,
    telling,
    without_traceback,
)
from crewyard.plan import Plan, check_where_written, plan
from crewyard.recall import memory_tools, recall, remember, render, with_memory
from crewyard.redact import logger, redact
from crewyard.runs.cassettes import CassetteWriter, cassette_path
from crewyard.runs.events import EventKind, EventSink, Listener
from crewyard.runs.questions import QuestionStore
from crewyard.runs.replay import MemoryTape, open_player
from crewyard.runs.result import RunResult, TaskOutput
from crewyard.runs.resuming import ResumingTape, Taping, plan_resume
from crewyard.runs.store import RunStore, new_run_id
from crewyard.settings import Settings, usable_folder
from crewyard.tools import registered

if TYPE_CHECKING:
    from crewyard.gateway import Gateway
    from crewyard.memory import Memory
    from crewyard.tools.mcp_client import McpClients

__all__ = ["Dispatcher", "RunFailed", "RunInterrupted", "RunWaiting"]  # how runs end: outcome


class Dispatcher:
    """Runs crews. One Dispatcher can run many crews; each run gets its own RunContext.

    It changes nothing in the process beyond its own runs: no console log sinks (the CLI adds
    those), no environment variables, no .env (pass settings, or set CREWYARD_* yourself)."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model_overrides: dict[str, str] | None = None,
        listeners: list[Listener] | None = None,
        gateway: Gateway | None = None,
        memory: Memory | None = None,
        human: Human | None = None,
    ) -> None:
        """human: the person who answers the runs' questions now (a terminal, a notebook);
        without one, a question parks the run as waiting_for_input."""
        self.settings = settings or Settings()
        self.human = human
        self.table = (
            gateway.table
            if gateway is not None
            else ModelTable.load(self.settings.models_file, model_overrides or {})
        )
        self._gateway = gateway
        self._memory: Memory | None = memory
        self._owns_memory = memory is None  # what it opens itself, it closes
        self.listeners = [*(listeners or []), *spans.listeners()]  # spans: when OTEL_* asks
        self.store = RunStore(self.settings.run_store)
        self._questions: QuestionStore | None = None  # opened by the first run

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the memory it opened (the embedded store is then free for other
        processes: the command line while a notebook lives on) and of the run store."""
        if self._owns_memory and self._memory is not None:
            self._memory.close()
            self._memory = None
        self.store.close()
        if self._questions is not None:
            self._questions.close()

    def interrupt(self) -> None:
        """Stop its runs now (Ctrl-C): the model calls under way are cut short."""
        if self._gateway is not None:
            self._gateway.interrupt()

    def share_memory(self, memory: Memory) -> None:
        """Use this memory (opened and closed by the caller: several dispatchers share it)."""
        if self._memory is not memory:
            self._memory, self._owns_memory = memory, False

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            from crewyard.gateway import Gateway
            from crewyard.gateway.cache import ResponseCache

            cache = ResponseCache(self.settings.cache_dir) if self.settings.cache else None
            self._gateway = Gateway(self.table, cache)
        return self._gateway

    @property
    def memory(self) -> Memory:
        """The shared memory (QDRANT_URL or the embedded store), opened on its first real use:
        a recall from an embedded store never made opens nothing."""
        if self._memory is None:
            from crewyard.memory import lazy_memory

            self._memory = lazy_memory(self.settings, lambda: self.gateway)
        return self._memory

    def plan(self, spec: CrewSpec) -> Plan:
        return plan(spec, self.table)

    def run(
        self,
        spec: CrewSpec,
        inputs: dict[str, Any] | None = None,
        *,
        record: bool | None = None,
        replay: str | Path | None = None,
        resume: str | None = None,
        from_task: str | None = None,
        run_id: str | None = None,
        trace_parent: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Run a crew to the end; raises RunFailed (with the partial result) if it fails.

        record: keep every model request and reply in a cassette (settings.cassettes_dir);
        default: settings.record (on), so that any run can be resumed without paying twice.
        replay: a recorded run's id (or its cassette file): every model call is answered
        from the cassette, none is made; a request that differs from the recording fails the
        run with ReplayMismatch. A replay without inputs takes the recorded run's.
        resume: an earlier run's id: its finished tasks keep their outputs, the rest runs,
        reusing its recorded calls while the requests match (none is paid twice); from_task
        reruns from that task (the outputs before it kept, the calls after it made again).
        run_id: the new run's id (a batch names its item's run before it starts).
        trace_parent: the W3C trace context ({"traceparent": …}) the run's span goes under
        (default: the batch's or firing's span this thread is in, observe/spans.py)."""
        if replay is not None and (record or resume is not None):
            raise ConfigError(
                "a replay calls no model: it cannot record or resume", hint="drop one of them"
            )
        if from_task is not None and resume is None:
            raise ConfigError("--from TASK goes with --resume RUN_ID", key="--from")
        startup = StartUp()  # told at -v as the first model call starts
        record = (self.settings.record if record is None else record) and replay is None
        taping = Taping()
        if resume is not None:
            taping.resumed = plan_resume(
                self.store, self.settings.cassettes_dir, resume, list(spec.tasks), from_task
            )
            if taping.resumed.crew != spec.name:
                raise ConfigError(
                    f"run {taping.resumed.run_id} is a run of crew {taping.resumed.crew!r}, "
                    f"not {spec.name!r}",
                    hint=f"python main.py --resume {taping.resumed.run_id} (no --crew needed)",
                )
            inputs = inputs or taping.resumed.inputs
            record = True
        if replay is not None:
            player = taping.player = open_player(self.settings, self.store, replay)
            if player.crew and player.crew != spec.name:
                raise ConfigError(
                    f"run {player.run_id} is a run of crew {player.crew!r}, not {spec.name!r}",
                    hint=f"python main.py --replay {player.run_id} (the crew comes with it)",
                )
            inputs = inputs or player.inputs
            taping.tape = player
        unused: list[str] = []  # ignored, as CrewAI does: logged now, and a note of the run
        resolved = resolve_inputs(spec, inputs or {}, warn=lambda w: _warn(w, unused))
        spec = spec.model_copy(update={"warnings": (*spec.warnings, *unused)}) if unused else spec
        the_plan = self.plan(spec)
        recorded = taping.player or taping.old_calls
        if recorded is not None:  # the recorded prompts, whatever memory holds now
            count = int(recorded.header.get("memory_items") or 0)
            recalled = (recorded.memory_block, count) if spec.memory.enabled else ("", 0)
        if taping.player is None:
            check_where_written(spec, lambda ref: self.gateway.check([ref]))
            self.gateway.check(list(the_plan.agents.values()) + list(the_plan.models))
            check_tool_needs(spec)  # a tool's API key, like a model's
        if recorded is None:
            with startup.memory():
                items = recall(self.memory, spec, resolved) if spec.memory.enabled else []
            recalled = (render(items, spec.memory.budget_chars), len(items))
        run_id = run_id or new_run_id()
        output_dir = usable_folder(self.settings.outputs_dir / run_id, "the outputs folder")
        log_file = usable_folder(self.settings.logs_dir, "the logs folder") / f"{run_id}.jsonl"
        if record:
            header = {
                "run_id": run_id,
                "crew": spec.name,
                "engine": the_plan.engine,
                "process": spec.process,
                "inputs": resolved,
                "memory_block": recalled[0],
                "memory_items": recalled[1],
            }
            path = cassette_path(self.settings.cassettes_dir, run_id)
            taping.writer = taping.tape = CassetteWriter(path, header)
            if taping.old_calls is not None:
                taping.tape = ResumingTape(taping.old_calls, taping.writer)
        try:
            with (
                run_log(log_file, run_id),
                spans.under(trace_parent),
                _mcp_servers(spec, log_file.parent, run_id) as mcp,
            ):
                return self._run(
                    spec,
                    resolved,
                    the_plan,
                    run_id,
                    output_dir,
                    log_file,
                    recalled,
                    taping,
                    startup,
                    mcp,
                )
        finally:
            if taping.writer is not None:
                taping.writer.close()

    def _run(
        self,
        spec: CrewSpec,
        inputs: dict[str, Any],
        the_plan: Plan,
        run_id: str,
        output_dir: Path,
        log_file: Path,
        recalled: tuple[str, int],
        taping: Taping,
        startup: StartUp,
        mcp: McpClients | None = None,
    ) -> RunResult:
        player = taping.player
        replay_of = player.run_id if player is not None else None
        tools = {**registered(), **run_tools(spec, output_dir)}  # before the run is recorded
        self.store.start(
            run_id, spec.name, inputs, the_plan.engine, output_dir, log_file, replay_of
        )
        events = EventSink(run_id, spec.name, self.store, self.listeners)
        block, recalled_items = recalled
        ctx = RunContext(
            run_id=run_id,
            spec=with_memory(filled(spec, inputs), block),
            inputs=inputs,
            settings=self.settings,
            store=self.store,
            events=events,
            output_dir=output_dir,
            shared_gateway=self.gateway,
            tape=taping.tape,
            tools={**tools, **(mcp.tools if mcp is not None else {})},
            mcp_owners=dict(mcp.owners) if mcp is not None else {},
            kept=dict(taping.resumed.kept) if taping.resumed is not None else {},
        )
        ctx.notes.extend(spec.warnings)  # CrewAI keys accepted but not acted on
        ctx.human = self._human_for(run_id, taping)
        started = time.perf_counter()
        ctx.gateway.on_first_call = startup.teller(events.log)
        if spec.memory.enabled:
            # a replay never opens the memory: the cassette holds what the run read from it
            cassette = taping.memory_cassette
            store = None if player is not None else self.memory
            ctx.memory = MemoryTape(cassette, store) if cassette is not None else self.memory
            ctx.tools.update({t.name: t for t in memory_tools(ctx.memory, spec.name, run_id)})
        events.emit(
            EventKind.RUN_STARTED,
            crew=spec.name,
            engine=the_plan.engine,
            process=spec.process,
            reason=the_plan.reason,
            inputs=inputs,
            **taping.started(),
        )
        if mcp is not None:
            _announce_mcp(ctx, mcp)
        if recalled_items:
            events.emit(EventKind.MEMORY_RECALLED, items=recalled_items, text=block)
        status, error, outputs = "done", None, []
        failure: BaseException | None = None
        try:
            startup.engine()
            outputs = engines.engine_for(spec.process).run(ctx)
            if player is not None:
                player.check_all_used()
        except KeyboardInterrupt:
            status, error = "interrupted", INTERRUPTED
        except Exception as exc:
            # the whole story goes to the run's log file; the record and the console get the
            # cause in a line or two
            events.log.opt(exception=exc).trace("the engine stopped with an exception")
            failure = telling(exc, ctx.gateway.raised)
            status = status_of(failure)
            error = redact(without_traceback(failure))
            events.emit(EventKind.ERROR, message=error)
        if status != "done":
            outputs = [
                TaskOutput(c.task, c.agent, c.output, c.output_file)
                for c in self.store.checkpoints(run_id)
            ]
        final = outputs[-1].output if outputs else ""
        learns = player is None and status != "waiting_for_input"  # learnt when it finishes
        if spec.memory.enabled and outputs and learns:
            stored = remember(
                self.memory, spec, inputs, run_id, the_plan.engine, outputs, status == "done", ctx
            )
            events.emit(EventKind.MEMORY_STORED, **stored)
        usage = ctx.usage.summary()
        self.store.finish(
            run_id, status, output=final, usage=usage, cost_usd=ctx.usage.cost_usd, error=error
        )
        duration = time.perf_counter() - started
        events.emit(
            EventKind.RUN_FINISHED,
            status=status,
            duration_s=round(duration, 3),
            total_tokens=usage["total_tokens"],
        )
        result = RunResult(
            run_id=run_id,
            crew=spec.name,
            engine=the_plan.engine,
            status=status,
            output=final,
            task_outputs=outputs,
            usage=usage,
            cost=ctx.usage.cost_usd,
            duration_s=duration,
            output_dir=str(output_dir),
            log_file=str(log_file),
            error=error,
            notes=list(ctx.notes),
            cassette=str(taping.writer.path) if taping.writer is not None else None,
            replay_of=replay_of,
            resume_of=taping.resumed.run_id if taping.resumed is not None else None,
            kept=list(taping.resumed.kept) if taping.resumed is not None else [],
        )
        if status == "interrupted":
            raise RunInterrupted(f"run {run_id} of crew {spec.name!r} was {error}", result)
        if status == "waiting_for_input":
            raise RunWaiting(f"run {run_id} of crew {spec.name!r} is {error}", result)
        if status != "done":
            verb = "stopped" if status == "budget_exceeded" else "failed"
            message = f"run {run_id} of crew {spec.name!r} {verb}: {error}"
            raise RunFailed(message, result) from failure
        return result

    def _human_for(self, run_id: str, taping: Taping) -> RunHuman:
        """The run's human: the answers of the run it resumes carried over, then the
        person at hand, then parking."""
        if self._questions is None:
            self._questions = QuestionStore(self.settings.run_store)
        questions = self._questions
        if taping.resumed is not None:
            questions.carry(taping.resumed.run_id, run_id)
        return RunHuman(questions, run_id, self.human)


def _mcp_servers(spec: CrewSpec, log_dir: Path, run_id: str) -> AbstractContextManager[Any]:
    """The run's MCP servers, started (their stderr in the logs folder) and closed with the
    run; a required server that cannot start raises ConfigError before any model call."""
    if not spec.mcp_servers:
        return nullcontext()
    from crewyard.tools.mcp_client import open_mcp  # the SDK loads only for crews with MCP

    return open_mcp(spec.mcp_servers, log_dir, run_id)


def _announce_mcp(ctx: RunContext, mcp: McpClients) -> None:
    ctx.events.emit(EventKind.MCP_SERVERS, servers=mcp.started)
    for server, why in mcp.failed.items():
        ctx.notes.append(f"MCP server {server} did not start (required: false): {why}")
        ctx.events.emit(EventKind.MCP_SERVER_FAILED, server=server, reason=why)


def _warn(warning: str, notes: list[str]) -> None:
    logger.warning(warning)
    notes.append(warning)
