"""How a crew declares MCP servers: crew.yaml's `mcp_servers:` (name → stdio command or
streamable HTTP url) and CrewAI's agent key `mcps:` (a command string, an http(s) URL, or a
mapping like crew.yaml's), resolved into McpServerSpec. No `mcp` import here: the client that
runs them is tools/mcp_client.py."""

from __future__ import annotations

import keyword
import os
import re
import shlex
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

SERVER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SEPARATOR = "__"  # SERVER__TOOL
_JSON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list[Any],
    "object": dict[str, Any],
}


class ToolFilter(BaseModel):
    """Which of a server's tools the crew gets: allow (empty: all), then deny."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allow: tuple[str, ...] = Field(default=(), description="Only these tools (default: all).")
    deny: tuple[str, ...] = Field(default=(), description="Never these tools.")

    def admits(self, tool: str) -> bool:
        return (not self.allow or tool in self.allow) and tool not in self.deny


class McpServerSpec(BaseModel):
    """One MCP server: a stdio command (command, args, env, cwd) or a streamable HTTP url
    (url, headers). Values of env and headers may name environment variables as ${VAR}."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: str | None = Field(default=None, description="stdio: the program to start.")
    args: tuple[str, ...] = Field(default=(), description="stdio: its arguments.")
    env: dict[str, str] = Field(
        default_factory=dict, description="stdio: extra environment variables (${VAR} allowed)."
    )
    cwd: str | None = Field(
        default=None, description="stdio: working folder (relative: to the crew's folder)."
    )
    url: str | None = Field(default=None, description="streamable HTTP: the server's endpoint.")
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="HTTP headers (${VAR} allowed); secrets: never logged or stored.",
    )
    tools: ToolFilter = Field(default_factory=ToolFilter, description="allow / deny by name.")
    timeout_s: float = Field(default=30, gt=0, description="Seconds one tool call may take.")
    startup_timeout_s: float = Field(
        default=30, gt=0, description="Seconds to start, hand-shake and list tools."
    )
    required: bool = Field(
        default=True,
        description="true: a server that cannot start stops the run before any model call; "
        "false: the run goes on without its tools (with a note and an event).",
    )
    agent: str | None = Field(
        default=None,
        description="Only this agent gets its tools (default: every agent; an agent's "
        "`mcps:` servers are that agent's).",
    )

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either command (stdio) or url (streamable HTTP), not both")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, not {self.url!r}")
        if self.url is not None and (self.args or self.env or self.cwd):
            raise ValueError("args, env and cwd go with command (stdio), not url")
        if self.command is not None and self.headers:
            raise ValueError("headers go with url (HTTP), not command")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    def variables(self) -> list[str]:
        """The ${VAR} names its env and headers take from the environment."""
        values = [*self.env.values(), *self.headers.values()]
        return list(dict.fromkeys(m.group(1) for v in values for m in VARIABLE.finditer(v)))


def expand(values: dict[str, str], env: dict[str, str] | None = None) -> dict[str, str]:
    """${VAR} in each value replaced by the variable's value (checked at load)."""
    found = os.environ if env is None else env
    return {k: VARIABLE.sub(lambda m: found.get(m.group(1), ""), v) for k, v in values.items()}


class McpsError(ValueError):
    """An agent's `mcps:` entry crewyard cannot run."""


def from_mcps_entry(entry: Any, agent: str) -> tuple[str, McpServerSpec]:
    """(server name, spec) of one entry of an agent's CrewAI `mcps:` list: a stdio command
    line, an http(s):// URL (CrewAI's `#tool` suffix keeps one tool), or a mapping of
    McpServerSpec keys (CrewAI's MCPServerStdio/MCPServerHTTP: command/args/env, url/headers;
    plus an optional name)."""
    if isinstance(entry, dict):
        fields = dict(entry)
        name = fields.pop("name", None)
        fields.pop("streamable", None)  # CrewAI's MCPServerHTTP key: streamable is all we speak
        if "tool_filter" in fields:
            raise McpsError("tool_filter is a Python callable in CrewAI; write tools: {allow: …}")
        spec = McpServerSpec(**fields, agent=agent)
        return str(name or _derived_name(spec)), spec
    if not isinstance(entry, str) or not entry.strip():
        raise McpsError("an mcps entry is a command line, an http(s):// URL or a mapping")
    text = entry.strip()
    if text.startswith("crewai-amp:") or re.fullmatch(r"[A-Za-z0-9_-]+(#\S+)?", text):
        raise McpsError(
            f"{text!r} is a CrewAI AMP reference (a hosted integration); crewyard does not "
            "support those: give the server's command line or http(s):// URL"
        )
    if text.startswith(("http://", "https://")):
        url, _, only = text.partition("#")
        spec = McpServerSpec(url=url, agent=agent, tools=ToolFilter(allow=(only,) if only else ()))
        return _derived_name(spec), spec
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise McpsError(f"cannot split the command line: {exc}") from None
    spec = McpServerSpec(command=words[0], args=tuple(words[1:]), agent=agent)
    return _derived_name(spec), spec


def _derived_name(spec: McpServerSpec) -> str:
    """A short server name: the package or script a command runs (@scope/server-files →
    files), or the URL's host."""
    if spec.url is not None:
        base = re.sub(r"^https?://", "", spec.url).split("/")[0].split(":")[0]
        base = base.split(".")[0] if not base.replace(".", "").isdigit() else "http"
    else:
        words = [w for w in (spec.command or "", *spec.args) if not w.startswith("-")]
        runners = {"npx", "uvx", "node", "python", "python3", "uv", "run", "pipx", "deno", "bunx"}
        picked = next((w for w in words if os.path.basename(w) not in runners), words[0])
        base = os.path.basename(picked.rstrip("/")).split("@")[0] or picked
        base = re.sub(r"\.(py|js|mjs|ts)$", "", base)
        base = re.sub(r"^(mcp[-_]server[-_]|server[-_])|([-_]mcp)$", "", base)
    name = re.sub(r"[^A-Za-z0-9_]", "_", base).strip("_") or "mcp"
    return name if name[0].isalpha() else f"mcp_{name}"[:40]


def args_model(name: str, schema: dict[str, Any]) -> type[BaseModel]:
    """A pydantic model of a tool's JSON input schema (its JSON schema is the server's own)."""
    properties: dict[str, Any] = schema.get("properties") or {}
    required = set(schema.get("required") or ())
    fields: dict[str, Any] = {}
    for i, (key, prop) in enumerate(properties.items()):
        kind = prop.get("type") if isinstance(prop, dict) else None
        typ = _JSON_TYPES.get(kind, Any) if isinstance(kind, str) else Any
        plain = key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_")
        attr = key if plain and key not in {"model_config", "schema", "json"} else f"field_{i}"
        describe = prop.get("description") if isinstance(prop, dict) else None
        if key in required:
            fields[attr] = (typ, Field(..., alias=key, description=describe))
        else:
            fields[attr] = (typ | None, Field(None, alias=key, description=describe))
    original = {k: v for k, v in schema.items() if k != "$schema"}
    original.setdefault("properties", {})

    def keep(out: dict[str, Any]) -> None:
        out.clear()
        out.update(original)

    config = ConfigDict(
        extra="allow" if schema.get("additionalProperties") else "forbid",
        populate_by_name=True,
        json_schema_extra=keep,
    )
    model: type[BaseModel] = create_model(f"{name}_args", __config__=config, **fields)
    return model
