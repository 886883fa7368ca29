"""The tools a crew names, checked when it loads and made for each run (tools/resolve.py), and
what they need from the environment (checked before a run, like a model's API key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewyard.agents.spec import AgentSpec
from crewyard.crews.spec import CrewSpec, WebChoice, WorkspaceChoice
from crewyard.crews.yamlfile import KeyPath, YamlDoc
from crewyard.errors import ConfigError
from crewyard.tasks.spec import TaskSpec
from crewyard.tools import Tool
from crewyard.tools.refs import ToolReference, ref_args, ref_name
from crewyard.tools.resolve import ToolProblem, crewai_class, missing_env, resolve
from crewyard.tools.workspace import ToolEnv


def tool_env(
    crew_dir: Path, workspace: WorkspaceChoice, web: WebChoice, output_dir: Path | None = None
) -> ToolEnv:
    return ToolEnv(
        crew_dir=crew_dir,
        output_dir=output_dir,
        folders=workspace.folders,
        writable=workspace.writable,
        web_allow=web.allow,
        web_max_bytes=web.max_bytes,
        web_timeout_s=web.timeout_s,
    )


def spec_env(spec: CrewSpec, output_dir: Path | None = None) -> ToolEnv:
    return tool_env(spec.directory, spec.workspace, spec.web, output_dir)


def references(
    agents: dict[str, AgentSpec],
    agents_doc: YamlDoc,
    tasks: dict[str, TaskSpec],
    task_docs: dict[str, tuple[YamlDoc, KeyPath]],
) -> list[tuple[ToolReference, YamlDoc, KeyPath]]:
    """Every tool reference of the crew, with where it is written."""
    found: list[tuple[ToolReference, YamlDoc, KeyPath]] = [
        (t, agents_doc, (a, "tools", i)) for a, s in agents.items() for i, t in enumerate(s.tools)
    ]
    for name, task in tasks.items():
        doc, at = task_docs[name]
        found += [(t, doc, (*at, "tools", i)) for i, t in enumerate(task.tools)]
    return found


def check_tools(refs: list[tuple[ToolReference, YamlDoc, KeyPath]], env: ToolEnv) -> None:
    """Each reference names a tool that can be made, with one set of options per name."""
    seen: dict[str, dict[str, Any]] = {}
    for ref, doc, at in refs:
        name, args = ref_name(ref), ref_args(ref)
        if name in seen and seen[name] != args:
            raise doc.error(
                f"tool {name!r} is given other args than where it is named before",
                at,
                "give a tool the same args everywhere in the crew",
            )
        seen[name] = args
        try:
            resolve(ref, env, build=False)
        except ToolProblem as problem:
            raise doc.error(problem.message, at, problem.hint) from None


def check_folders(workspace: WorkspaceChoice, crew_dir: Path, doc: YamlDoc) -> None:
    """Declared workspace folders are folders inside the crew's folder."""
    for i, folder in enumerate(workspace.folders):
        real = (crew_dir / folder).resolve()
        if Path(folder).is_absolute() or ".." in Path(folder).parts or folder in ("", "."):
            problem = "must be a folder inside the crew's folder (no absolute path, no `..`)"
        elif crew_dir.resolve() not in real.parents:
            problem = "leads outside the crew's folder"
        elif not real.is_dir():
            problem = f"is not a folder ({crew_dir / folder} does not exist)"
        else:
            continue
        raise doc.error(
            f"workspace folder {folder!r} {problem}",
            ("workspace", "folders", i),
            "name a folder of the crew, such as docs",
        )


def run_tools(spec: CrewSpec, output_dir: Path) -> dict[str, Tool]:
    """Every tool the crew names, made for this run, by the name it is written as."""
    env = spec_env(spec, output_dir)
    refs = [r for a in spec.agents.values() for r in a.tools]
    refs += [r for t in spec.tasks.values() for r in t.tools]
    made: dict[str, Tool] = {}
    for ref in refs:
        if ref_name(ref) not in made:
            try:
                found = resolve(ref, env)
            except ToolProblem as problem:
                raise ConfigError(problem.message, hint=problem.hint) from None
            except Exception as exc:  # a crewai-tools class refusing its options
                raise ConfigError(
                    f"tool {ref_name(ref)} could not be made: {type(exc).__name__}: {exc}",
                    hint=f"check the args given to {ref_name(ref)} in agents.yaml / tasks.yaml",
                ) from exc
            assert found is not None
            made[ref_name(ref)] = found
    return made


def network_notes(refs: list[tuple[ToolReference, YamlDoc, KeyPath]], env: ToolEnv) -> list[str]:
    """What each crewai-tools tool of the crew reaches beyond the machine, said at load (and
    so by --dry-run and in the run's notes): its calls fail where there is no network."""
    from crewyard.tools import crewai_tools

    notes = []
    for name in dict.fromkeys(ref_name(ref) for ref, _, _ in refs):
        cls = crewai_class(name, env)
        if cls is not None and (how := crewai_tools.network_use(cls)):
            notes.append(f"tool {name} reaches the network: {how}; without it its calls fail")
    return notes


def check_tool_needs(spec: CrewSpec) -> None:
    """Before a run: every package and environment variable the crew's tools need is there."""
    from crewyard.tools import crewai_tools

    env = spec_env(spec)
    refs = [r for a in spec.agents.values() for r in a.tools]
    refs += [r for t in spec.tasks.values() for r in t.tools]
    for ref in dict.fromkeys(ref_name(r) for r in refs):
        cls = crewai_class(ref, env)
        if cls is not None and (missing := crewai_tools.missing_packages(cls)):
            raise ConfigError(
                f"tool {ref} needs the package {missing[0]}, which is not installed",
                hint=f"pip install {' '.join(missing)} (in this project's environment), "
                f"or remove {ref} from the crew",
            )
        for var, what in missing_env(ref, env):
            raise ConfigError(
                f"tool {ref} needs the environment variable {var} ({what}), which is not set",
                hint=f"set {var} (in the environment or .env), or remove {ref} from the crew",
            )
