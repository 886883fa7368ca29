"""A run's plan — its engine, the model behind every agent and task, who does what — computed
from the crew and models.yaml alone, without importing an engine or calling a model (so
--dry-run answers at once; the dispatcher runs by it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from crewyard import engines
from crewyard.crews.spec import CrewSpec
from crewyard.errors import ConfigError
from crewyard.gateway.config import AUTO, ModelTable
from crewyard.tools.refs import ref_names


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
    assigned: dict[str, str] | None = None  # task → how its agent was chosen (no agent: key)
    warnings: tuple[str, ...] = ()  # CrewAI keys accepted but not acted on
    tools: dict[str, list[str]] | None = None  # agent or task → the tools it names
    servers: dict[str, str] | None = None  # MCP server → how it is reached, for whom
    strategy: str | None = None  # a planning process: how it will plan, act and answer


def _tools(spec: CrewSpec) -> dict[str, list[str]]:
    named = {f"agent {n}": ref_names(a.tools) for n, a in spec.agents.items()}
    named |= {f"task {n}": ref_names(t.tools) for n, t in spec.tasks.items()}
    return {who: names for who, names in named.items() if names}


def _servers(spec: CrewSpec) -> dict[str, str]:
    """Each MCP server as the run will start it (its tools are listed when it has started)."""
    out = {}
    for name, server in spec.mcp_servers.items():
        command = " ".join([server.command or "", *server.args])
        how = f"http {server.url}" if server.url else f"stdio: {command}"
        tools = server.tools
        if tools.allow:
            how += f"; only {', '.join(tools.allow)}"
        if tools.deny:
            how += f"; never {', '.join(tools.deny)}"
        how += f"; for {server.agent}" if server.agent else "; for every agent"
        out[name] = how + ("" if server.required else "; optional")
    return out


def _strategy(spec: CrewSpec) -> str | None:
    """How a planning process will go, in a sentence, from its options and agents."""
    opts, names = spec.engine_options, list(spec.agents)

    def agent(key: str, role: str, fallback: str) -> str:
        return str(opts.get(key) or (role if role in names else fallback))

    if spec.process == "plan_execute":
        planner = agent("planner", "planner", names[0])
        return (
            f"{planner} writes a typed plan of at most {opts.get('max_steps', 5)} steps (agent, "
            "what it does, its tools), each step's agent runs it with those tools, "
            f"{planner} revises the rest after a failed step (at most "
            f"{opts.get('max_replans', 2)} times), then writes the answer"
        )
    if spec.process == "rewoo":
        planner, solver = (
            agent("planner", "planner", names[0]),
            agent("solver", "solver", names[-1]),
        )
        return (
            f"{planner} writes the whole plan in one call (at most {opts.get('max_steps', 5)} "
            "steps #En = tool[args]), the tools run without a model, #En in later arguments "
            f"becomes that result, then {solver} answers from the evidence"
        )
    if spec.process == "tree_of_thought":
        thinker = agent("thinker", names[0], names[0])
        evaluator = agent("evaluator", "evaluator", "judge" if "judge" in names else thinker)
        budget = opts.get("max_tokens")
        return (
            f"{thinker} proposes {opts.get('breadth', 3)} thoughts per path, {evaluator} scores "
            f"each 1–10, the best {opts.get('beam', 2)} paths go on for {opts.get('depth', 2)} "
            "levels"
            + (f" or until {budget} tokens are spent" if budget else "")
            + f", then {thinker} answers along the best path"
        )
    return None


def _assignee(spec: CrewSpec) -> str:
    """Who does a task that names no agent."""
    if spec.process == "hierarchical":
        return "the manager assigns it"
    if spec.process != "sequential":
        return f"the {spec.process} team"
    return next(iter(spec.agents))


def check_where_written(spec: CrewSpec, check: Callable[[str], object]) -> None:
    """check(ref) for every agent's llm and task's model; its ConfigError points at the line
    of agents.yaml (tasks.yaml) that names the model, not at models.yaml."""
    for where, (path, line) in spec.origins.items():
        kind, name, key = where.split(".", 2)
        owner = spec.agents[name] if kind == "agents" else spec.tasks[name]
        ref = getattr(owner, key)
        if ref is None or ref == AUTO:
            continue
        try:
            check(ref)
        except ConfigError as exc:
            hint = f"{exc.hint}; " if exc.hint else ""
            raise ConfigError(
                f"{kind[:-1]} {name!r}: {exc.message}",
                file=path,
                line=line,
                key=f"{name}.{key}",
                hint=f"{hint}or change {key}: here",
            ) from None


def plan(spec: CrewSpec, table: ModelTable) -> Plan:
    """Choose the engine and resolve every model the crew will call."""
    engine = engines.engine_for(spec.process)
    check_where_written(spec, table.resolve)
    agents = {name: spec.agent_model(name) for name in spec.agents}
    refs = set(agents.values()) | {t.model for t in spec.tasks.values() if t.model}
    judged = [t.checks for t in spec.tasks.values() if t.checks and t.checks.judge]
    refs |= {g.judge_model or spec.models.default for g in judged}  # checked before the run
    if spec.memory.enabled and spec.memory.learn == "model":
        refs.add(spec.learning_model())
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
            models.update({n: table.resolve(n)[1].model for n in table.candidates(AUTO)})
            continue
        name, cfg = table.resolve(ref)
        models[name] = cfg.model
    return Plan(
        crew=spec.name,
        engine=engine.name,
        process=spec.process,
        reason=spec.process_reason or f"process: {spec.process}",
        agents=agents,
        tasks=[(n, t.agent or _assignee(spec)) for n, t in spec.tasks.items()],
        options=dict(spec.engine_options),
        manager=manager,
        models=models,
        assigned=dict(spec.assigned),
        warnings=spec.warnings,
        tools=_tools(spec),
        servers=_servers(spec),
        strategy=_strategy(spec),
    )
