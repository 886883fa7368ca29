"""CrewAI projects dropped in unchanged: a folder with agents.yaml and tasks.yaml (flat or under
config/) is a crew without a crew.yaml; tasks that name no agent get one by a rule the dry run
shows; CrewAI keys crewyard does not act on are reported, with file:line:key and why."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from crewyard.agents.spec import REPORTED_KEYS as AGENT_REPORTED
from crewyard.agents.spec import AgentSpec
from crewyard.crews.hooks import HooksProblem, output_model
from crewyard.crews.spec import CrewFile
from crewyard.crews.yamlfile import KeyPath, YamlDoc
from crewyard.errors import ConfigError, did_you_mean
from crewyard.tasks.spec import REPORTED_KEYS as TASK_REPORTED
from crewyard.tasks.spec import TaskSpec

CREWAI_PROCESSES = ("sequential", "hierarchical")
# what a crew folder holds, said whenever a folder is not one
CREW_FOLDER = (
    "a crew folder holds agents.yaml and tasks.yaml (flat, under config/, or under "
    "src/<package>/config/ as `crewai create crew` lays them out) and may add crew.yaml"
)


def find_file(crew_dir: Path, name: str) -> Path | None:
    """crew_dir/name, else crew_dir/config/name (CrewAI's layout), else the one
    crew_dir/src/<package>/config/name (a whole `crewai create crew` project), else None."""
    for candidate in (crew_dir / name, crew_dir / "config" / name):
        if candidate.is_file():
            return candidate
    packaged = sorted(p for p in crew_dir.glob(f"src/*/config/{name}") if p.is_file())
    return packaged[0] if len(packaged) == 1 else None


def is_crew_folder(folder: Path) -> bool:
    """A folder is a crew when it has a crew.yaml, or both agents.yaml and tasks.yaml."""
    if (folder / "crew.yaml").is_file():
        return True
    return (
        find_file(folder, "agents.yaml") is not None and find_file(folder, "tasks.yaml") is not None
    )


def not_a_crew(crew_dir: Path) -> ConfigError:
    """Why an existing folder is not a crew, and what to add."""
    missing = [n for n in ("agents.yaml", "tasks.yaml") if find_file(crew_dir, n) is None]
    return ConfigError(
        f"{crew_dir} is not a crew folder: it has no crew.yaml and no {' and no '.join(missing)}",
        hint=f"{CREW_FOLDER}; or run: python main.py new {crew_dir.name}",
    )


def _words(name: str) -> set[str]:
    words = {w for w in re.split(r"[^a-z0-9]+", name.lower()) if len(w) >= 4}
    return words - {"task", "agent", "crew", "with", "from", "into"}


def _same_stem(one: str, other: str) -> bool:
    """Words (of 4 letters or more) share a stem: their first 4 letters: research and
    researcher, writing and writer, edit and editor, analysis and analyst."""
    return one[:4] == other[:4]


def _shares_word(task_words: set[str], agent_words: set[str]) -> bool:
    return any(_same_stem(t, a) for t in task_words for a in agent_words)


def rule_match(task_name: str, agents: Mapping[str, AgentSpec]) -> tuple[list[str], str]:
    """The agents the assignment rule picks for a task named task_name, and the rule used."""
    if len(agents) == 1:
        return list(agents), "the crew's only agent"
    words = _words(task_name)
    by_name = [a for a in agents if _shares_word(words, _words(a))]
    return (
        by_name,
        "task and agent names share a word stem (first 4 letters)",
    )


def assign_agents(
    crew: CrewFile,
    crew_doc: YamlDoc,
    tasks: dict[str, TaskSpec],
    task_docs: Mapping[str, tuple[YamlDoc, KeyPath]],
    agents: Mapping[str, AgentSpec],
    process: str,
) -> tuple[dict[str, TaskSpec], dict[str, str]]:
    """Every sequential task with an agent: named in tasks.yaml, in crew.yaml assign:, or by
    the rule (the only agent; else the one agent whose name shares a word with the task's).
    Returns the tasks and, for each assigned one, how its agent was chosen."""
    for task_name, agent_name in crew.assign.items():
        if task_name not in tasks:
            raise crew_doc.error(
                f"assign: names {task_name!r}, which is not a task of this crew",
                ("assign", task_name),
                did_you_mean(task_name, tasks) or f"crew tasks: {', '.join(tasks)}",
            )
        if agent_name not in agents:
            raise crew_doc.error(
                f"assign: gives {task_name!r} to {agent_name!r}, which is not an agent of "
                "this crew",
                ("assign", task_name),
                did_you_mean(agent_name, agents) or f"crew agents: {', '.join(agents)}",
            )
        if tasks[task_name].agent not in (None, agent_name):
            doc, at = task_docs[task_name]
            raise crew_doc.error(
                f"assign: gives {task_name!r} to {agent_name!r}, but tasks.yaml names "
                f"agent {tasks[task_name].agent!r} ({doc.path}:{doc.line_of((*at, 'agent'))})",
                ("assign", task_name),
                "keep one of the two",
            )
    out = dict(tasks)
    assigned: dict[str, str] = {}
    for task_name, task in tasks.items():
        if task.agent is not None:
            continue
        if task_name in crew.assign:
            chosen, how = crew.assign[task_name], f"crew.yaml assign: {task_name}: "
            out[task_name] = task.model_copy(update={"agent": chosen})
            assigned[task_name] = how + chosen
            continue
        if process != "sequential":  # a manager or a team decides who does it
            continue
        found, rule = rule_match(task_name, agents)
        if len(found) == 1:
            out[task_name] = task.model_copy(update={"agent": found[0]})
            assigned[task_name] = f"assigned by rule: {rule}"
            continue
        doc, at = task_docs[task_name]
        which = f"it fits {', '.join(found)}" if found else "no agent's name shares a word with it"
        raise doc.error(
            f"task {task_name!r} has no agent, and the assignment rule cannot choose one ({which})",
            at,
            f"add agent: <one of {', '.join(agents)}> to the task, or in crew.yaml write "
            f"assign: {{{task_name}: <agent>}}",
        )
    return out, assigned


def reported_keys(
    agents: Mapping[str, AgentSpec],
    agent_docs: Mapping[str, tuple[YamlDoc, KeyPath]],
    tasks: Mapping[str, TaskSpec],
    task_docs: Mapping[str, tuple[YamlDoc, KeyPath]],
    process: str,
) -> list[str]:
    """One warning per CrewAI key set that crewyard accepts but does not act on."""
    found: list[tuple[str, YamlDoc, KeyPath, str]] = []
    for name, agent in agents.items():
        doc, at = agent_docs[name]
        found += [
            (f"agent {name!r}", doc, (*at, k), why)
            for k, why in AGENT_REPORTED.items()
            if k in agent.model_fields_set
        ]
    for name, task in tasks.items():
        doc, at = task_docs[name]
        found += [
            (f"task {name!r}", doc, (*at, k), why)
            for k, why in TASK_REPORTED.items()
            if k in task.model_fields_set
        ]
        if process not in CREWAI_PROCESSES:
            why = (
                f"honoured on CrewAI processes only, and this crew runs {process}; "
                "guardrails: {output_model: …} checks the output on every process"
            )
            found += [
                (f"task {name!r}", doc, (*at, k), why)
                for k in ("output_pydantic", "output_json")
                if getattr(task, k) is not None
            ]
    out = []
    for who, doc, at, why in found:
        line = doc.line_of(at)
        out.append(f"{doc.path}:{line or '?'}: {who}: {at[-1]} is not supported ({why}); ignored")
    return out


def model_origins(
    agents: Mapping[str, AgentSpec],
    agent_docs: Mapping[str, tuple[YamlDoc, KeyPath]],
    tasks: Mapping[str, TaskSpec],
    task_docs: Mapping[str, tuple[YamlDoc, KeyPath]],
) -> dict[str, tuple[Path, int | None]]:
    """Where each agent's llm and each task's model is written (file, line)."""
    out: dict[str, tuple[Path, int | None]] = {}
    for kind, specs, docs, key in (
        ("agents", agents, agent_docs, "llm"),
        ("tasks", tasks, task_docs, "model"),
    ):
        for name, spec in specs.items():
            if getattr(spec, key) is not None:
                doc, at = docs[name]
                out[f"{kind}.{name}.{key}"] = (doc.path, doc.line_of((*at, key)))
    return out


def check_output_models(
    crew_dir: Path, tasks: Mapping[str, TaskSpec], task_docs: Mapping[str, tuple[YamlDoc, KeyPath]]
) -> None:
    """output_pydantic / output_json name a pydantic model in the crew's hooks.py."""
    for name, task in tasks.items():
        doc, at = task_docs[name]
        for key in ("output_pydantic", "output_json"):
            model = getattr(task, key)
            if model is None:
                continue
            try:
                output_model(crew_dir, model)
            except HooksProblem as problem:
                hint = problem.hint or ""
                if hint.startswith(("create", "define")):
                    hint += f": class {model}(pydantic.BaseModel)"
                raise doc.error(problem.message, (*at, key), hint) from None
