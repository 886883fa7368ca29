"""Crew folders → CrewSpec: YAML read with lines, library references resolved, all checked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from crewyard.agents import LIBRARY_DIR as AGENT_LIBRARY
from crewyard.agents.spec import AgentSpec
from crewyard.crews.checks import (
    check_crew_name,
    check_input_defaults,
    check_library_name,
    check_schedules,
    name_problem,
)
from crewyard.crews.dropin import (
    assign_agents,
    check_output_models,
    find_file,
    is_crew_folder,
    model_origins,
    not_a_crew,
    reported_keys,
)
from crewyard.crews.hooks import check_references
from crewyard.crews.inputs import PLACEHOLDER, outside_path_problem
from crewyard.crews.mcp import check_mcp_servers
from crewyard.crews.options import BUILTIN_PROCESSES
from crewyard.crews.routing import choose_process
from crewyard.crews.spec import AUTO_PROCESS, CrewFile, CrewSpec, InputSpec
from crewyard.crews.tooling import (
    check_folders,
    check_tools,
    network_notes,
    references,
    tool_env,
)
from crewyard.crews.yamlfile import KeyPath, YamlDoc, read_yaml, validate
from crewyard.errors import ConfigError, did_you_mean
from crewyard.tasks import LIBRARY_DIR as TASK_LIBRARY
from crewyard.tasks.spec import TaskSpec

AGENT_TEXT_FIELDS = ("role", "goal", "backstory")
TASK_TEXT_FIELDS = ("description", "expected_output", "output_file")


def discover(crews_dir: Path) -> list[str]:
    """Names of the crews under crews_dir: every folder with a crew.yaml, or with agents.yaml
    and tasks.yaml (a CrewAI project's config), whose name is a plain name (so `--crew NAME`
    can load it; a folder such as .hidden is skipped)."""
    if not crews_dir.is_dir():
        return []
    found = (p for p in crews_dir.iterdir() if p.is_dir() and name_problem(p.name) is None)
    return sorted(p.name for p in found if is_crew_folder(p))


def _mapping(doc: YamlDoc, what: str) -> dict[str, Any]:
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        raise doc.error(f"{what} must be a mapping of names to {what} entries")
    return doc.data


class _Resolver:
    """Looks up agents or tasks in the crew's file first, then in the shared library."""

    def __init__(
        self,
        kind: str,
        model: type[AgentSpec] | type[TaskSpec],
        local: YamlDoc | None,
        library: Path,
    ) -> None:
        self.kind = kind
        self.model = model
        self.local = local
        self.entries = _mapping(local, kind) if local else {}
        self.library = library

    def library_names(self) -> list[str]:
        return sorted(p.stem for p in self.library.glob("*.yaml"))

    def known(self) -> list[str]:
        return list(self.entries) + self.library_names()

    def get(self, name: str, doc: YamlDoc, at: KeyPath, chain: tuple[str, ...] = ()) -> Any:
        path: KeyPath
        if self.local is not None and name in self.entries and not chain:
            raw, src, path = self.entries[name], self.local, (name,)
        else:
            check_library_name(name, self.kind[:-1], self.library, doc, at)
            lib_file = self.library / f"{name}.yaml"
            if not lib_file.is_file():
                raise doc.error(
                    f"no {self.kind[:-1]} named {name!r} in the crew or in {self.library}",
                    at,
                    did_you_mean(name, self.known()) or f"known: {', '.join(self.known())}",
                )
            src = read_yaml(lib_file)
            raw, path = src.data, ()
        if not isinstance(raw, dict):
            raise src.error(f"{self.kind[:-1]} {name!r} must be a mapping of keys", path)
        base = raw.get("extends")
        if base is not None and not isinstance(base, str):
            raise src.error(
                f"extends must name one {self.kind[:-1]}, not hold a {type(base).__name__}",
                (*path, "extends"),
                f"write extends: <name of a {self.kind[:-1]} in {self.library}>",
            )
        if base is not None:
            if base in chain or base == name:
                raise src.error(f"'extends' loops back to {base!r}", (*path, "extends"))
            parent = self.get(str(base), src, (*path, "extends"), (*chain, name))
            merged = {**parent.model_dump(exclude_unset=True), **raw}
            merged.pop("extends")
            return validate(self.model, merged, src, path)
        return validate(self.model, raw, src, path)


def _placeholders(text: str | None) -> Iterator[str]:
    return (m.group(1) for m in PLACEHOLDER.finditer(text or ""))


def load_crew(
    name: str, crews_dir: Path, processes: Mapping[str, type[BaseModel]] | None = None
) -> CrewSpec:
    """Read crews_dir/name into a checked CrewSpec, or raise ConfigError saying where and why.

    processes: the processes a crew may name, each with its engine_options model (the
    engine registry's, crewyard.engines.processes(), which includes plugins; default: the
    built-in ones)."""
    name = check_crew_name(name, crews_dir, lambda: discover(crews_dir))  # before any read
    processes = BUILTIN_PROCESSES if processes is None else processes
    crew_dir = crews_dir / name
    crew_file = crew_dir / "crew.yaml"
    if not crew_file.is_file() and crew_dir.is_dir() and not is_crew_folder(crew_dir):
        raise not_a_crew(crew_dir)
    if not crew_dir.is_dir():
        names = discover(crews_dir)
        hint = did_you_mean(name, names) or (
            f"known crews: {', '.join(names)}" if names else f"create {crew_file}"
        )
        raise ConfigError(f"no crew named {name!r} (looked in {crews_dir})", hint=hint)
    # no crew.yaml: CrewAI's defaults (sequential, every agent and task in file order)
    crew_doc = read_yaml(crew_file) if crew_file.is_file() else YamlDoc(crew_file, None)
    if crew_doc.data is not None and not isinstance(crew_doc.data, dict):
        raise crew_doc.error("crew.yaml must be a mapping of keys")
    crew = validate(CrewFile, crew_doc.data, crew_doc)
    check_input_defaults(crew, crew_doc)
    if crew.process != AUTO_PROCESS and crew.process not in processes:
        raise crew_doc.error(
            f"unknown process {crew.process!r}",
            ("process",),
            did_you_mean(crew.process, processes)
            or f"one of: {', '.join([*processes, AUTO_PROCESS])}",
        )

    agents_path = find_file(crew_dir, "agents.yaml")
    tasks_path = find_file(crew_dir, "tasks.yaml")
    agents_doc = read_yaml(agents_path) if agents_path else None
    tasks_doc = read_yaml(tasks_path) if tasks_path else None
    agent_lookup = _Resolver("agents", AgentSpec, agents_doc, AGENT_LIBRARY)
    task_lookup = _Resolver("tasks", TaskSpec, tasks_doc, TASK_LIBRARY)

    agent_names = crew.agents if crew.agents is not None else tuple(agent_lookup.entries)
    task_names = crew.tasks if crew.tasks is not None else tuple(task_lookup.entries)
    agents: dict[str, AgentSpec] = {}
    agent_docs: dict[str, tuple[YamlDoc, KeyPath]] = {}
    for i, agent_name in enumerate(agent_names):
        where = (
            (crew_doc, ("agents", i)) if crew.agents is not None else (agents_doc, (agent_name,))
        )
        agents[agent_name] = agent_lookup.get(agent_name, where[0] or crew_doc, where[1])
        in_local = agents_doc is not None and agent_name in agent_lookup.entries
        agent_docs[agent_name] = (
            (agents_doc, (agent_name,))
            if in_local and agents_doc
            else (where[0] or crew_doc, where[1])
        )
    tasks: dict[str, TaskSpec] = {}
    task_docs: dict[str, tuple[YamlDoc, KeyPath]] = {}
    for i, task_name in enumerate(task_names):
        doc, at = (crew_doc, ("tasks", i)) if crew.tasks is not None else (tasks_doc, (task_name,))
        assert doc is not None
        tasks[task_name] = task_lookup.get(task_name, doc, at)
        in_local = tasks_doc is not None and task_name in task_lookup.entries
        task_docs[task_name] = (tasks_doc, (task_name,)) if in_local and tasks_doc else (doc, at)
    if not tasks:
        raise ConfigError(
            "the crew has no tasks",
            file=tasks_path or crew_file,
            hint=f"add tasks to {crew_dir / 'tasks.yaml'}",
        )
    if not agents:
        raise ConfigError(
            "the crew has no agents",
            file=agents_path or crew_file,
            hint=f"add agents to {crew_dir / 'agents.yaml'}",
        )

    check_folders(crew.workspace, crew_dir, crew_doc)
    if crew.web.allow and not all(isinstance(h, str) and "/" not in h for h in crew.web.allow):
        raise crew_doc.error("web.allow lists host names", ("web", "allow"), "e.g. example.org")
    env = tool_env(crew_dir, crew.workspace, crew.web)
    refs = references(agents, agents_doc or crew_doc, tasks, task_docs)
    check_tools(refs, env)
    check_references(crew_dir, tasks, task_docs)  # imports hooks.py only if a task names it
    check_output_models(crew_dir, tasks, task_docs)
    process, reason = choose_process(crew.process, agents, crew.models, crew.engine_options)
    if not crew_file.is_file():
        reason = "process: sequential, CrewAI's default (the folder has no crew.yaml)"
    _check_task_agents(tasks, task_docs, agents)
    tasks, assigned = assign_agents(crew, crew_doc, tasks, task_docs, agents, process)
    _check_context(tasks, task_docs)
    _check_output_files(tasks, task_docs)
    inputs = _check_placeholders(crew, crew_doc, agents, agents_doc, tasks, task_docs)
    options = validate(processes[process], crew.engine_options, crew_doc, ("engine_options",))
    _check_option_agents(options, agents, crew_doc)
    servers = check_mcp_servers(crew, crew_doc, agents, agents_doc or crew_doc, crew_dir)
    spec = CrewSpec(
        name=crew.name or name,
        description=crew.description,
        process=process,
        process_reason=reason,
        engine_options=options.model_dump(exclude_unset=True),
        inputs=inputs,
        models=crew.models,
        memory=crew.memory,
        budget=crew.budget,
        agents=agents,
        tasks=tasks,
        verbose=crew.verbose,
        directory=crew_dir,
        assigned=assigned,
        origins=model_origins(agents, agent_docs, tasks, task_docs),
        warnings=(
            *reported_keys(agents, agent_docs, tasks, task_docs, process),
            *network_notes(refs, env),
        ),
        mcp_servers=servers,
        workspace=crew.workspace,
        web=crew.web,
        human=crew.human,
    )
    if not crew.schedules:
        return spec
    return spec.model_copy(update={"schedules": check_schedules(spec, crew, crew_doc)})


def _check_output_files(
    tasks: dict[str, TaskSpec], task_docs: dict[str, tuple[YamlDoc, KeyPath]]
) -> None:
    """output_file is a path inside the run's outputs folder: no absolute path, no `..`."""
    for task_name, task in tasks.items():
        if task.output_file is None:
            continue
        doc, at = task_docs[task_name]
        if problem := outside_path_problem(task.output_file):
            raise doc.error(
                f"output_file {task.output_file!r} {problem}",
                (*at, "output_file"),
                "write a path inside the run's outputs folder, such as report.md or "
                "reports/{topic}.md",
            )


def _check_option_agents(options: BaseModel, agents: dict[str, AgentSpec], doc: YamlDoc) -> None:
    """Agents named in engine_options must be agents of the crew."""
    for key in ("manager_agent", "judge", "coder", "debaters"):
        value = getattr(options, key, None)
        for i, name in enumerate([value] if isinstance(value, str) else value or ()):
            if name not in agents:
                at = ("engine_options", key) + ((i,) if key == "debaters" else ())
                raise doc.error(
                    f"{name!r} is not an agent of this crew",
                    at,
                    did_you_mean(name, agents) or f"crew agents: {', '.join(agents)}",
                )


def _check_task_agents(
    tasks: dict[str, TaskSpec],
    task_docs: dict[str, tuple[YamlDoc, KeyPath]],
    agents: dict[str, AgentSpec],
) -> None:
    """A task's agent is an agent of the crew (tasks without one: crews.dropin)."""
    for task_name, task in tasks.items():
        doc, at = task_docs[task_name]
        if task.agent is None:
            continue
        if task.agent not in agents:
            raise doc.error(
                f"agent {task.agent!r} is not in this crew",
                (*at, "agent"),
                did_you_mean(task.agent, agents) or f"crew agents: {', '.join(agents)}",
            )


def _check_context(
    tasks: dict[str, TaskSpec], task_docs: dict[str, tuple[YamlDoc, KeyPath]]
) -> None:
    order = list(tasks)
    for task_name, task in tasks.items():
        doc, at = task_docs[task_name]
        for ref in task.context or ():
            if ref not in tasks:
                raise doc.error(
                    f"context names {ref!r}, which is not a task of this crew",
                    (*at, "context"),
                    did_you_mean(ref, order) or f"crew tasks: {', '.join(order)}",
                )
    cycle = _find_cycle({n: list(t.context or ()) for n, t in tasks.items()})
    if cycle:
        doc, at = task_docs[cycle[0]]
        raise doc.error(
            f"context cycle: {' → '.join(cycle)}",
            (*at, "context"),
            "a task can only read the output of tasks that run before it",
        )
    for task_name, task in tasks.items():
        doc, at = task_docs[task_name]
        for ref in task.context or ():
            if order.index(ref) > order.index(task_name):
                raise doc.error(
                    f"context names {ref!r}, which runs after {task_name!r}",
                    (*at, "context"),
                    f"move {ref!r} before {task_name!r} in the task order",
                )


def _find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in graph:
        if start not in state and (found := visit(start)):
            return found
    return None


def _check_placeholders(
    crew: CrewFile,
    crew_doc: YamlDoc,
    agents: dict[str, AgentSpec],
    agents_doc: YamlDoc | None,
    tasks: dict[str, TaskSpec],
    task_docs: dict[str, tuple[YamlDoc, KeyPath]],
) -> dict[str, InputSpec]:
    found: list[tuple[str, YamlDoc, KeyPath]] = []
    for agent_name, agent in agents.items():
        for field in AGENT_TEXT_FIELDS:
            doc = agents_doc or crew_doc
            found += [(p, doc, (agent_name, field)) for p in _placeholders(getattr(agent, field))]
    for task_name, task in tasks.items():
        doc, at = task_docs[task_name]
        for field in TASK_TEXT_FIELDS:
            found += [(p, doc, (*at, field)) for p in _placeholders(getattr(task, field))]
    if crew.inputs is None:
        return {p: InputSpec(type="str", required=True) for p, _, _ in found}
    for placeholder, doc, at in found:
        if placeholder not in crew.inputs:
            raise doc.error(
                f"placeholder {{{placeholder}}} has no input",
                at,
                f"declare it under inputs: in {crew_doc.path}"
                + (
                    f", or {did_you_mean(placeholder, crew.inputs)}"
                    if did_you_mean(placeholder, crew.inputs)
                    else ""
                ),
            )
    return dict(crew.inputs)
