"""The loader's checks of MCP servers: crew.yaml's `mcp_servers:` and agents' `mcps:` — names
fit a tool name, ${VAR}s are set, CrewAI references crewyard cannot run say so."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import ValidationError

from crewyard.agents.spec import AgentSpec
from crewyard.crews.spec import CrewFile
from crewyard.crews.yamlfile import KeyPath, YamlDoc
from crewyard.errors import did_you_mean
from crewyard.redact import treat_as_secret
from crewyard.tools.mcp_spec import (
    SERVER_NAME,
    VARIABLE,
    McpsError,
    McpServerSpec,
    from_mcps_entry,
)


def check_mcp_servers(
    crew: CrewFile,
    crew_doc: YamlDoc,
    agents: dict[str, AgentSpec],
    agents_doc: YamlDoc,
    crew_dir: Path,
) -> dict[str, McpServerSpec]:
    """Every MCP server of the crew by name, checked; an agent's `mcps:` servers carry their
    agent (and get a name of their own: the package or host, numbered when it repeats)."""
    servers: dict[str, McpServerSpec] = {}
    for name, spec in crew.mcp_servers.items():
        if not SERVER_NAME.match(name):
            raise crew_doc.error(
                f"MCP server name {name!r} cannot prefix a tool name",
                ("mcp_servers", name),
                "use letters, digits, _ and - (starting with a letter, at most 40)",
            )
        if spec.agent is not None and spec.agent not in agents:
            raise crew_doc.error(
                f"agent {spec.agent!r} is not in this crew",
                ("mcp_servers", name, "agent"),
                did_you_mean(spec.agent, agents) or f"crew agents: {', '.join(agents)}",
            )
        servers[name] = _checked(spec, crew_doc, ("mcp_servers", name), crew_dir)
    for agent_name, agent in agents.items():
        for i, entry in enumerate(agent.mcps):
            at: KeyPath = (agent_name, "mcps", i)
            try:
                name, spec = from_mcps_entry(entry, agent_name)
            except (McpsError, ValidationError) as exc:
                text = (
                    "; ".join(e["msg"] for e in exc.errors())
                    if isinstance(exc, ValidationError)
                    else str(exc)
                )
                raise agents_doc.error(
                    f"mcps entry: {text}",
                    at,
                    'write a command line ("npx -y @modelcontextprotocol/server-filesystem '
                    './docs"), an http(s):// URL, or a mapping {command, args} / {url, headers}',
                ) from None
            if not SERVER_NAME.match(name):
                raise agents_doc.error(f"MCP server name {name!r} cannot prefix a tool name", at)
            unique, n = name, 1
            while unique in servers:
                n += 1
                unique = f"{name}_{n}"
            servers[unique] = _checked(spec, agents_doc, at, crew_dir)
    return servers


def _checked(spec: McpServerSpec, doc: YamlDoc, at: KeyPath, crew_dir: Path) -> McpServerSpec:
    for key, values in (("env", spec.env), ("headers", spec.headers)):
        for field, value in values.items():
            for name in (m.group(1) for m in VARIABLE.finditer(value)):
                if name not in os.environ:
                    raise doc.error(
                        f"environment variable {name} is not set",
                        (*at, key, field),
                        f"export {name}=… (or put it in .env) before the run",
                    )
                if key == "headers":
                    treat_as_secret(name)  # a header's variable is a secret whatever its name
    if spec.cwd is not None and not Path(spec.cwd).is_absolute():
        return spec.model_copy(update={"cwd": str(crew_dir / spec.cwd)})
    return spec
