"""MCP servers as crew files declare them (crew.yaml's mcp_servers, CrewAI's mcps:), checked
at load: the SDK is not loaded for any of it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from crewyard.crews.loader import load_crew
from crewyard.errors import ConfigError
from crewyard.redact import redact
from crewyard.tools.mcp_spec import McpServerSpec, args_model, expand, from_mcps_entry
from tests.conftest import MakeCrew

AGENT = {"role": "R", "goal": "g", "backstory": "b"}
TASK = {"t": {"description": "d", "expected_output": "e"}}


def error_of(crews_dir: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_crew("demo", crews_dir)
    return info.value


def test_crew_servers_load_with_their_keys(make_crew: MakeCrew, crews_dir: Path) -> None:
    servers = {
        "files": {"command": "npx", "args": ["-y", "pkg"], "cwd": "data", "timeout_s": 5},
        "web": {"url": "https://example.invalid/mcp", "tools": {"deny": ["drop"]}},
    }
    make_crew(crew={"mcp_servers": servers}, agents={"a": AGENT}, tasks=TASK)
    spec = load_crew("demo", crews_dir)
    files, web = spec.mcp_servers["files"], spec.mcp_servers["web"]
    assert (files.transport, files.args, files.timeout_s, files.required) == (
        "stdio",
        ("-y", "pkg"),
        5,
        True,
    )
    assert files.cwd == str(crews_dir / "demo" / "data")  # relative to the crew's folder
    assert web.transport == "http" and not web.tools.admits("drop") and web.tools.admits("x")
    assert "mcp_servers" not in [t for a in spec.agents.values() for t in a.tools]


@pytest.mark.parametrize(
    ("server", "said", "key"),
    [
        ({"command": "x", "url": "http://a"}, "either command (stdio) or url", "mcp_servers.s"),
        ({}, "either command (stdio) or url", "mcp_servers.s"),
        ({"url": "ftp://a"}, "must start with http", "mcp_servers.s"),
        ({"command": "x", "headers": {"A": "b"}}, "headers go with url", "mcp_servers.s"),
        ({"command": "x", "timeout_s": 0}, "greater than 0", "mcp_servers.s.timeout_s"),
        ({"command": "x", "tools": {"only": ["a"]}}, "only", "mcp_servers.s.tools.only"),
    ],
)
def test_a_bad_server_is_a_load_error_at_its_key(
    make_crew: MakeCrew, crews_dir: Path, server: dict[str, object], said: str, key: str
) -> None:
    make_crew(crew={"mcp_servers": {"s": server}}, agents={"a": AGENT}, tasks=TASK)
    error = error_of(crews_dir)
    assert said in str(error) and error.key == key and error.line is not None


def test_a_crew_server_for_one_agent_names_an_agent_of_the_crew(
    make_crew: MakeCrew, crews_dir: Path
) -> None:
    server = {"command": "x", "agent": "b"}
    make_crew(crew={"mcp_servers": {"s": server}}, agents={"a": AGENT}, tasks=TASK)
    error = error_of(crews_dir)
    assert "agent 'b' is not in this crew" in str(error) and error.key == "mcp_servers.s.agent"
    make_crew(
        crew={"mcp_servers": {"s": {**server, "agent": "a"}}}, agents={"a": AGENT}, tasks=TASK
    )
    assert load_crew("demo", crews_dir).mcp_servers["s"].agent == "a"


def test_a_server_name_must_fit_a_tool_name(make_crew: MakeCrew, crews_dir: Path) -> None:
    make_crew(
        crew={"mcp_servers": {"my server": {"command": "x"}}}, agents={"a": AGENT}, tasks=TASK
    )
    assert "cannot prefix a tool name" in str(error_of(crews_dir))


def test_a_missing_variable_is_named_with_its_key(
    make_crew: MakeCrew, crews_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MCP_UNSET_VAR", raising=False)
    server = {"command": "x", "env": {"TOKEN": "${MCP_UNSET_VAR}"}}
    make_crew(crew={"mcp_servers": {"s": server}}, agents={"a": AGENT}, tasks=TASK)
    error = error_of(crews_dir)
    assert "environment variable MCP_UNSET_VAR is not set" in str(error)
    assert error.key == "mcp_servers.s.env.TOKEN"
    monkeypatch.setenv("MCP_UNSET_VAR", "now-set")
    spec = load_crew("demo", crews_dir)
    assert spec.mcp_servers["s"].env == {"TOKEN": "${MCP_UNSET_VAR}"}  # expanded only to start
    assert expand(spec.mcp_servers["s"].env) == {"TOKEN": "now-set"}


def test_a_header_variable_is_masked_whatever_its_name(
    make_crew: MakeCrew, crews_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAIN_NAMED_VAR", "value-that-is-a-secret")
    server = {"url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "${PLAIN_NAMED_VAR}"}}
    make_crew(crew={"mcp_servers": {"s": server}}, agents={"a": AGENT}, tasks=TASK)
    load_crew("demo", crews_dir)
    assert redact("sent value-that-is-a-secret") == "sent [REDACTED]"


def test_agent_mcps_in_crewai_formats(make_crew: MakeCrew, crews_dir: Path) -> None:
    mcps = [
        "npx -y @modelcontextprotocol/server-filesystem ./docs",
        "https://mcp.example.invalid/api#search",
        {"command": sys.executable, "args": ["srv.py"], "env": {"A": "1"}},
        "npx -y @modelcontextprotocol/server-filesystem ./other",
    ]
    tasks = {"t": {**TASK["t"], "agent": "b"}}
    make_crew(crew={}, agents={"a": {**AGENT, "mcps": mcps}, "b": AGENT}, tasks=tasks)
    spec = load_crew("demo", crews_dir)
    assert list(spec.mcp_servers) == ["filesystem", "mcp", "srv", "filesystem_2"]
    fs, web = spec.mcp_servers["filesystem"], spec.mcp_servers["mcp"]
    assert (fs.command, fs.args, fs.agent) == (
        "npx",
        ("-y", "@modelcontextprotocol/server-filesystem", "./docs"),
        "a",
    )
    assert web.url == "https://mcp.example.invalid/api" and web.tools.allow == ("search",)


@pytest.mark.parametrize(
    ("entry", "said"),
    [
        ("crewai-amp:notion", "AMP reference"),
        ("notion#search", "AMP reference"),
        ({"url": "http://a", "tool_filter": "f"}, "tool_filter"),
        ({"command": "x", "bogus": 1}, "Extra inputs are not permitted"),
        ("npx 'unclosed", "cannot split the command line"),
    ],
)
def test_mcps_crewyard_cannot_run_say_why_at_their_line(
    make_crew: MakeCrew, crews_dir: Path, entry: object, said: str
) -> None:
    make_crew(crew={}, agents={"a": {**AGENT, "mcps": [entry]}}, tasks=TASK)
    error = error_of(crews_dir)
    assert said in str(error) and error.key == "a.mcps.0"
    assert error.file is not None and error.file.endswith("agents.yaml")


def test_derived_names() -> None:
    assert from_mcps_entry("uvx mcp-server-fetch", "a")[0] == "fetch"
    assert from_mcps_entry("python3 tools/my_server.py --x", "a")[0] == "my_server"
    assert from_mcps_entry("http://127.0.0.1:8000/mcp", "a")[0] == "http"
    assert McpServerSpec(command="x").variables() == []


def test_an_args_model_checks_arguments_and_keeps_the_servers_schema() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "from": {"type": "string", "description": "a Python keyword"},
            "n": {"type": "integer", "enum": [1, 2]},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["from"],
    }
    model = args_model("s__t", schema)
    assert model.model_json_schema() == {k: v for k, v in schema.items() if k != "$schema"}
    checked = model.model_validate({"from": "here", "n": "2"})
    assert checked.model_dump(by_alias=True, exclude_unset=True) == {"from": "here", "n": 2}
    with pytest.raises(ValidationError):
        model.model_validate({"n": 1})  # from is required
    with pytest.raises(ValidationError):
        model.model_validate({"from": "x", "extra": 1})
