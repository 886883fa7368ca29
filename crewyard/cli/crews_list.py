"""python main.py --list [--json]: the crews under the crews folder with their process and
inputs; a broken crew is listed with what is wrong. Imports no engine and no model library."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewyard.cli.output import fit, print_json, program_name
from crewyard.errors import ConfigError, ExitCode


def crews(crews_dir: Path) -> list[dict[str, Any]]:
    """One entry per crew: name, process, description, inputs — or broken: why it won't load."""
    from crewyard import engines
    from crewyard.crews.loader import discover, load_crew

    processes = engines.processes()
    found: list[dict[str, Any]] = []
    for name in discover(crews_dir):
        try:
            spec = load_crew(name, crews_dir, processes)
        except ConfigError as exc:
            found.append({"name": name, "broken": str(exc)})
            continue
        inputs = {
            key: {
                "type": inp.type,
                "required": inp.is_required and inp.default is None,
                "default": inp.default,
                "description": inp.description,
            }
            for key, inp in spec.inputs.items()
        }
        found.append(
            {
                "name": name,
                "process": spec.process,
                "description": spec.description,
                "inputs": inputs,
                "broken": None,
            }
        )
    return found


def print_crews(crews_dir: Path, as_json: bool) -> int:
    listed = crews(crews_dir)
    if as_json:
        print_json(listed)
        return ExitCode.OK
    if not listed:
        print(f"no crews in {crews_dir} (make one: {program_name()} new NAME)")
        return ExitCode.OK
    for crew in listed:
        if crew["broken"]:
            print(fit(f"{crew['name']}  (broken: {' '.join(crew['broken'].split())})"))
            continue
        print(fit(f"{crew['name']}  [{crew['process']}]  {crew['description']}"))
        for key, inp in crew["inputs"].items():
            need = "required" if inp["required"] else f"default {inp['default']!r}"
            print(fit(f"    --input {key}=<{inp['type']}>  {need}  {inp['description']}"))
    return ExitCode.OK
