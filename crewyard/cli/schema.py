"""python main.py schema: the JSON Schema of crew files and models.yaml, for editors."""

from __future__ import annotations

import argparse
import json
from typing import Any

from crewyard.errors import ExitCode


def run(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog="python main.py schema",
        description="Print the JSON Schema of crew.yaml, agents.yaml, tasks.yaml and "
        "models.yaml (every key, with its description), for editors.",
    ).parse_args(argv)
    from crewyard import engines
    from crewyard.agents.spec import AgentSpec
    from crewyard.crews.spec import AUTO_PROCESS, CrewFile
    from crewyard.gateway.config import ModelsFile
    from crewyard.tasks.spec import TaskSpec

    processes = engines.processes()
    # pydantic nests each model's parts under its own $defs but refers to them from the
    # root (#/$defs/X): hoist them so every reference resolves
    defs: dict[str, Any] = {}

    def hoisted(model: Any) -> dict[str, Any]:
        part: dict[str, Any] = model.model_json_schema()
        defs.update(part.pop("$defs", {}))
        return part

    defs.update(
        {
            "CrewFile": hoisted(CrewFile),
            "AgentsFile": {"type": "object", "additionalProperties": hoisted(AgentSpec)},
            "TasksFile": {"type": "object", "additionalProperties": hoisted(TaskSpec)},
            "ModelsFile": hoisted(ModelsFile),
            **{f"EngineOptions_{p}": hoisted(m) for p, m in processes.items()},
        }
    )
    # the processes are whatever the engines (plugins included) run, so the enum is made here
    defs["CrewFile"]["properties"]["process"]["enum"] = [*processes, AUTO_PROCESS]
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "crewyard crew files",
        "description": "crew.yaml (CrewFile); agents.yaml maps names to AgentSpec; "
        "tasks.yaml maps names to TaskSpec; models.yaml (ModelsFile).",
        "$defs": defs,
    }
    print(json.dumps(schema, indent=2))
    return ExitCode.OK
