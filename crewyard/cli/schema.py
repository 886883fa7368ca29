"""python main.py schema [KIND] [--write DIR]: one JSON Schema per kind of file — crew.yaml,
agents.yaml, tasks.yaml, models.yaml — each with a root an editor validates the file against
(every key, with its description; a misspelt key is flagged)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crewyard.cli.output import program_name
from crewyard.errors import ConfigError, ExitCode

KINDS = ("crew", "agents", "tasks", "models")
# `python main.py new` writes the schemas here, in the crews folder; each scaffolded file's
# first line points at them from the crew's folder (../.schemas/KIND.schema.json)
SCHEMAS_FOLDER = ".schemas"
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_file(kind: str) -> str:
    return f"{kind}.schema.json"


def modeline(kind: str) -> str:
    """The first line of a crew's KIND.yaml that tells the VS Code YAML extension (any editor
    on yaml-language-server) its schema; the loader reads it as the comment it is."""
    return f"# yaml-language-server: $schema=../{SCHEMAS_FOLDER}/{schema_file(kind)}\n"


def definitions() -> dict[str, Any]:
    """Every part of every file kind under one $defs, names made unique by pydantic:
    CrewFile, AgentsFile, TasksFile, ModelsFile, their parts, and EngineOptions_<process> for
    each process the engines (plugins included) run."""
    from pydantic import BaseModel
    from pydantic.json_schema import models_json_schema

    from crewyard import engines
    from crewyard.agents.spec import AgentSpec
    from crewyard.crews.spec import AUTO_PROCESS, CrewFile
    from crewyard.gateway.config import ModelsFile
    from crewyard.tasks.spec import TaskSpec

    processes = engines.processes()
    models: list[type[BaseModel]] = [CrewFile, AgentSpec, TaskSpec, ModelsFile]
    models += processes.values()
    refs, schema = models_json_schema([(m, "validation") for m in models])
    defs: dict[str, Any] = schema["$defs"]

    def ref(model: Any) -> str:
        return str(refs[(model, "validation")]["$ref"])

    for spec in (AgentSpec, TaskSpec):  # an entry that `extends:` another needs no more keys
        part = defs[ref(spec).rsplit("/", 1)[1]]
        part.update({"if": {"required": ["extends"]}, "else": {"required": part.pop("required")}})
    defs["AgentsFile"] = _named("agents", "agents.yaml: agent name → agent", ref(AgentSpec))
    defs["TasksFile"] = _named("tasks", "tasks.yaml: task name → task, in run order", ref(TaskSpec))
    for process, model in processes.items():
        defs[f"EngineOptions_{process}"] = {
            "$ref": ref(model),
            "description": f"engine_options of a crew whose process is {process}",
        }
    crew = defs["CrewFile"]
    # the processes are whatever the engines run, so the enum is made here; engine_options
    # is checked against the options of the process named (auto: of any process)
    crew["properties"]["process"]["enum"] = [*processes, AUTO_PROCESS]
    crew["allOf"] = [
        *(_options_when(p, {"$ref": f"#/$defs/EngineOptions_{p}"}) for p in processes),
        _options_when(
            AUTO_PROCESS, {"anyOf": [{"$ref": f"#/$defs/EngineOptions_{p}"} for p in processes]}
        ),
    ]
    default = crew["properties"]["process"].get("default")
    if default in processes:  # no process: key is the default process
        crew["allOf"].append(
            {
                "if": {"not": {"required": ["process"]}},
                "then": {"properties": {"engine_options": {"$ref": _options_ref(default)}}},
            }
        )
    return defs


def _named(kind: str, description: str, entry: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": kind,
        "description": description,
        "additionalProperties": {"$ref": entry},
    }


def _options_ref(process: str) -> str:
    return f"#/$defs/EngineOptions_{process}"


def _options_when(process: str, options: dict[str, Any]) -> dict[str, Any]:
    return {
        "if": {"properties": {"process": {"const": process}}, "required": ["process"]},
        "then": {"properties": {"engine_options": options}},
    }


ROOTS = {"crew": "CrewFile", "agents": "AgentsFile", "tasks": "TasksFile", "models": "ModelsFile"}


def schema_for(kind: str, defs: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON Schema of one kind of file: its root inline, and the $defs it refers to."""
    defs = definitions() if defs is None else defs
    root = {k: v for k, v in defs[ROOTS[kind]].items() if k != "title"}
    return {
        "$schema": DRAFT,
        "title": f"crewyard {kind}.yaml",
        **root,
        "$defs": {name: defs[name] for name in sorted(_reachable(root, defs))},
    }


def _reachable(part: Any, defs: dict[str, Any]) -> set[str]:
    seen: set[str] = set()
    todo = list(_refs(part))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_refs(defs[name]))
    return seen


def _refs(part: Any) -> Iterator[str]:
    if isinstance(part, dict):
        for key, value in part.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                yield value.removeprefix("#/$defs/")
            else:
                yield from _refs(value)
    elif isinstance(part, list):
        for value in part:
            yield from _refs(value)


def write_schemas(folder: Path) -> list[Path]:
    """Write KIND.schema.json for every kind into folder (made if missing); the paths."""
    from crewyard.settings import usable_folder

    usable_folder(folder, "schema folder", key="--write")
    defs = definitions()
    written = []
    for kind in KINDS:
        path = folder / schema_file(kind)
        text = json.dumps(schema_for(kind, defs), indent=2, ensure_ascii=False) + "\n"
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} schema",
        description="Print the JSON Schema of one kind of file — crew.yaml, agents.yaml, "
        "tasks.yaml or models.yaml — for editors: every key, with its description. With no "
        "KIND: crew.yaml's, with the definitions of the other three kinds as well.",
    )
    p.add_argument("kind", nargs="?", choices=KINDS, metavar="KIND", help=" | ".join(KINDS))
    p.add_argument(
        "--write",
        metavar="DIR",
        type=Path,
        help="save crew.schema.json, agents.schema.json, tasks.schema.json and "
        "models.schema.json in DIR instead of printing",
    )
    return p


def run(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.write is not None:
        if args.kind is not None:
            raise ConfigError(
                f"--write saves every kind; {args.kind!r} is one too many",
                key="KIND",
                hint="give a KIND to print one schema, or --write DIR to save all four",
            )
        for path in write_schemas(args.write):
            print(path)
        return ExitCode.OK
    if args.kind is not None:
        schema = schema_for(args.kind)
    else:
        defs = definitions()
        schema = {**schema_for("crew", defs), "$defs": defs}
        schema["description"] = (
            "crew.yaml; $defs also holds AgentsFile (agents.yaml), TasksFile (tasks.yaml) and "
            "ModelsFile (models.yaml). One schema per kind: python main.py schema KIND"
        )
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return ExitCode.OK
