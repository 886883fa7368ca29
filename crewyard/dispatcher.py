"""The dispatcher: picks the engine for a crew, builds its RunContext, runs it, records it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crews.spec import CrewSpec
from crewyard.cassette import CassettePlayer, CassetteWriter, cassette_path
from crewyard.context import RunContext
from crewyard.errors import BudgetExceeded, ConfigError, CrewyardError
from crewyard.events import (
    ERROR,
    MEMORY_RECALLED,
    MEMORY_STORED,
    RUN_FINISHED,
    RUN_STARTED,
    EventSink,
    Listener,
)
from crewyard.inputs import resolve_inputs
from crewyard.logs import ensure_configured, run_log
from crewyard.models_config import AUTO, ModelTable
from crewyard.recall import memory_tools, recall, remember, render, with_memory
from crewyard.redact import redact
from crewyard.replay import MemoryTape, as_store, open_player
from crewyard.result import RunResult, TaskOutput
from crewyard.runs import RunStore, new_run_id
from crewyard.settings import Settings
from tools import REGISTERED

if TYPE_CHECKING:
    from crewyard.gateway import Gateway
    from memory.store import MemoryStore

ENGINES = {
    "sequential": "crewai",
    "hierarchical": "crewai",
    "debate": "autogen",
    "coding": "autogen",
}


class RunFailed(CrewyardError):
    """The run started but did not finish; .result holds what it produced before failing."""

    def __init__(self, message: str, result: RunResult) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class Plan:
    """What a run would do, computed without importing any engine or calling a model."""

    crew: str
    engine: str
    process: str
    reason: str
    agents: dict[str, str]  # agent → model alias
    tasks: list[tuple[str, str | None]]  # (task, agent)
    models: dict[str, str]  # alias → LiteLLM model string
    options: dict[str, Any]  # engine_options as set in crew.yaml
    manager: str | None = None  # hierarchical: the manager agent, or the manager's model alias


def _assignee(spec: CrewSpec) -> str:
    """Who does a task that names no agent."""
    if spec.process == "hierarchical":
        return "the manager assigns it"
    if spec.process in ("debate", "coding"):
        return f"the {spec.process} team"
    return next(iter(spec.agents))


def plan(spec: CrewSpec, table: ModelTable) -> Plan:
    """Choose the engine and resolve every model the crew will call."""
    engine = ENGINES.get(spec.process)
    if engine is None:
        raise ConfigError(
            f"process {spec.process!r} has no engine in this version of crewyard",
            file=spec.directory / "crew.yaml",
            key="process",
            hint=f"use one of: {', '.join(ENGINES)}",
        )
    agents = {name: spec.agent_model(name) for name in spec.agents}
    refs = set(agents.values()) | {t.model for t in spec.tasks.values() if t.model}
    judged = [t.guardrails for t in spec.tasks.values() if t.guardrails and t.guardrails.judge]
    refs |= {g.judge_model or spec.models.default for g in judged}  # checked before the run
    manager = None
    if spec.process == "hierarchical":
        manager = spec.engine_options.get("manager_agent")
        if manager is None:
            manager = f"built by CrewAI on model {spec.models.manager or 'smart'}"
            refs.add(spec.models.manager or "smart")
    models = {}
    for ref in sorted(refs):
        if ref == AUTO:  # routed per call; every tier's alias must resolve
            tiers = table.spec.routing.tiers
            models[ref] = "by complexity: " + ", ".join(f"{t} → {a}" for t, a in tiers.items())
            refs_of_tiers = table.candidates(AUTO)
            models.update({n: table.resolve(n)[1].model for n in refs_of_tiers})
            continue
        name, cfg = table.resolve(ref)
        models[name] = cfg.model
    return Plan(
        crew=spec.name,
        engine=engine,
        process=spec.process,
        reason=spec.process_reason or f"process: {spec.process}",
        agents=agents,
        tasks=[(n, t.agent or _assignee(spec)) for n, t in spec.tasks.items()],
        options=dict(spec.engine_options),
        manager=manager,
        models=models,
    )


class Dispatcher:
    """Runs crews. One Dispatcher can run many crews; each run gets its own RunContext."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        model_overrides: dict[str, str] | None = None,
        listeners: list[Listener] | None = None,
        gateway: Gateway | None = None,
        memory: MemoryStore | None = None,
    ) -> None:
        ensure_configured()
        self.settings = settings or Settings()
        self.settings.export_env_file()
        self.table = (
            gateway.table
            if gateway is not None
            else ModelTable.load(self.settings.models_file, model_overrides or {})
        )
        self._gateway = gateway
        self._memory: MemoryStore | None = memory
        self.listeners = list(listeners or [])
        self.store = RunStore(self.settings.runs_db)

    @property
    def gateway(self) -> Gateway:
        if self._gateway is None:
            from crewyard.cache import ResponseCache
            from crewyard.gateway import Gateway

            cache = ResponseCache(self.settings.cache_dir) if self.settings.cache else None
            self._gateway = Gateway(self.table, cache)
        return self._gateway

    @property
    def memory(self) -> MemoryStore:
        """The shared memory, opened on first use (QDRANT_URL or the embedded store)."""
        if self._memory is None:
            from crewyard.recall import open_memory

            gateway = self.gateway if self.settings.embedder == "litellm" else None
            self._memory = open_memory(self.settings, gateway)
        return self._memory

    def plan(self, spec: CrewSpec) -> Plan:
        return plan(spec, self.table)

    def run(
        self,
        spec: CrewSpec,
        inputs: dict[str, Any] | None = None,
        *,
        record: bool = False,
        replay: str | Path | None = None,
    ) -> RunResult:
        """Run a crew to the end; raises RunFailed (with the partial result) if it fails.

        record: keep every model request and reply in a cassette (settings.cassettes_dir).
        replay: a recorded run's id (or its cassette file): every model call is answered
        from the cassette, none is made; a request that differs from the recording fails the
        run with ReplayMismatch. A replay without inputs takes the recorded run's."""
        if record and replay is not None:
            raise ConfigError("a run cannot record and replay at once", hint="drop one of them")
        player = open_player(self.settings, self.store, replay) if replay is not None else None
        if player is not None:
            if player.crew and player.crew != spec.name:
                raise ConfigError(
                    f"run {player.run_id} is a run of crew {player.crew!r}, not {spec.name!r}",
                    hint=f"python main.py --replay {player.run_id} (the crew comes with it)",
                )
            inputs = inputs or player.inputs
        resolved = resolve_inputs(spec, inputs or {})
        the_plan = self.plan(spec)
        if player is not None:  # the recorded prompts, whatever memory holds now; no keys
            count = int(player.header.get("memory_items") or 0)
            recalled = (player.memory_block, count) if spec.memory.enabled else ("", 0)
        else:
            self.gateway.check(list(the_plan.agents.values()) + list(the_plan.models))
            items = recall(self.memory, spec, resolved) if spec.memory.enabled else []
            recalled = (render(items, spec.memory.budget_chars), len(items))
        run_id = new_run_id()
        output_dir = self.settings.outputs_dir / run_id
        output_dir.mkdir(parents=True, exist_ok=True)
        log_file = self.settings.logs_dir / f"{run_id}.jsonl"
        cassette: CassetteWriter | CassettePlayer | None = player
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
            cassette = CassetteWriter(cassette_path(self.settings.cassettes_dir, run_id), header)
        try:
            with run_log(log_file, run_id):
                return self._run(
                    spec, resolved, the_plan, run_id, output_dir, log_file, recalled, cassette
                )
        finally:
            if isinstance(cassette, CassetteWriter):
                cassette.close()

    def _run(
        self,
        spec: CrewSpec,
        inputs: dict[str, Any],
        the_plan: Plan,
        run_id: str,
        output_dir: Path,
        log_file: Path,
        recalled: tuple[str, int],
        cassette: CassetteWriter | CassettePlayer | None,
    ) -> RunResult:
        player = cassette if isinstance(cassette, CassettePlayer) else None
        replay_of = player.run_id if player is not None else None
        self.store.start(
            run_id, spec.name, inputs, the_plan.engine, output_dir, log_file, replay_of
        )
        events = EventSink(run_id, spec.name, self.store, self.listeners)
        ctx = RunContext(
            run_id=run_id,
            spec=spec,
            inputs=inputs,
            settings=self.settings,
            gateway=self.gateway.for_run(cassette),
            store=self.store,
            events=events,
            output_dir=output_dir,
        )
        started = time.perf_counter()
        block, recalled_items = recalled
        ctx.spec = with_memory(spec, block)
        ctx.tools = {n: REGISTERED[n] for n in REGISTERED}
        if spec.memory.enabled:
            # a replay never opens the memory: the cassette holds what the run read from it
            ctx.memory = (
                self.memory
                if cassette is None
                else as_store(MemoryTape(cassette, None if player else self.memory))
            )
            ctx.tools.update({t.name: t for t in memory_tools(ctx.memory, spec.name, run_id)})
        taping: dict[str, Any] = {}
        if player is not None:
            taping = {"replay_of": player.run_id, "cassette": str(player.path)}
        elif isinstance(cassette, CassetteWriter):
            taping = {"cassette": str(cassette.path)}
        events.emit(
            RUN_STARTED,
            crew=spec.name,
            engine=the_plan.engine,
            process=spec.process,
            reason=the_plan.reason,
            inputs=inputs,
            **taping,
        )
        if recalled_items:
            events.emit(MEMORY_RECALLED, items=recalled_items, text=block)
        status, error, outputs = "done", None, []
        failure: BaseException | None = None
        try:
            outputs = self._engine(ctx, the_plan.engine)
            if player is not None:
                player.check_all_used()
        except KeyboardInterrupt:
            status, error = "interrupted", "stopped by the user (Ctrl-C)"
        except Exception as exc:
            failure = _telling(exc)
            status = "budget_exceeded" if isinstance(failure, BudgetExceeded) else "failed"
            error = redact(
                str(failure)
                if isinstance(failure, CrewyardError)
                else f"{type(failure).__name__}: {failure}"
            )
            events.emit(ERROR, message=error)
        if status != "done":
            outputs = [
                TaskOutput(c.task, c.agent, c.output, c.output_file)
                for c in self.store.checkpoints(run_id)
            ]
        final = outputs[-1].output if outputs else ""
        if spec.memory.enabled and outputs and player is None:  # a replay learns nothing new
            stored = remember(
                self.memory, spec, inputs, run_id, the_plan.engine, outputs, status == "done"
            )
            events.emit(MEMORY_STORED, **stored)
        usage = ctx.usage.summary()
        self.store.finish(
            run_id, status, output=final, usage=usage, cost_usd=ctx.usage.cost_usd, error=error
        )
        duration = time.perf_counter() - started
        events.emit(
            RUN_FINISHED,
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
            cassette=str(cassette.path) if isinstance(cassette, CassetteWriter) else None,
            replay_of=replay_of,
        )
        if status == "interrupted":
            raise KeyboardInterrupt
        if status != "done":
            verb = "stopped" if status == "budget_exceeded" else "failed"
            message = f"run {run_id} of crew {spec.name!r} {verb}: {error}"
            raise RunFailed(message, result) from failure
        return result

    def _engine(self, ctx: RunContext, engine: str) -> list[TaskOutput]:
        if engine == "crewai":
            from crewyard.engines.crewai_engine import run_crewai

            return run_crewai(ctx)
        if engine == "autogen":
            from crewyard.engines.autogen_engine import run_autogen

            return run_autogen(ctx)
        raise ConfigError(f"unknown engine {engine!r}")


def _telling(exc: BaseException) -> BaseException:
    """The most telling error in the chain: ours (model, budget, config) beat their wrappers."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, CrewyardError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc
