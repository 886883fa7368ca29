"""MCP servers a crew declares, against real servers: the Python test server
(tests/mcp_servers) over stdio and streamable HTTP, and the npm filesystem/everything servers:
tools listed and namespaced, allow/deny, results as text, a timeout, a crash, a server that
cannot start."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.errors import ConfigError
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from crewyard.tools.mcp_client import McpToolError, open_mcp
from tests.conftest import cli_uses
from tests.contract.test_autogen_engine import dispatcher_for
from tests.mcp_servers import http_server, npm_server, python_server

AGENT = {"a": {"role": "Clerk", "goal": "g", "backstory": "b", "max_iter": 4}}
TASK = {"t": {"description": "Do it", "expected_output": "x"}}


def crew_with(make_crew: Any, servers: dict[str, Any], **crew: Any) -> None:
    make_crew(
        "mcp",
        crew={"mcp_servers": servers, "memory": {"enabled": False}, **crew},
        agents=AGENT,
        tasks=TASK,
    )


def test_tools_are_listed_namespaced_and_filtered(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    crew_with(
        make_crew,
        {
            "py": python_server(tools={"deny": ["die", "slow", "pid"]}),
            "files": {
                "command": "node",
                "args": [npm_server("filesystem"), str(tmp_path / "docs")],
                "tools": {"allow": ["read_text_file", "list_directory"]},
            },
            "every": {"command": "node", "args": [npm_server("everything")]},
        },
    )
    spec = load_crew("mcp", settings.crews_dir)
    with open_mcp(spec.mcp_servers, tmp_path, "run-1") as mcp:
        assert sorted(mcp.started["py"]) == ["py__add", "py__crash", "py__echo", "py__header"]
        assert mcp.started["files"] == ["files__read_text_file", "files__list_directory"]
        assert {"every__echo", "every__get-sum"} <= set(mcp.started["every"])
        add = mcp.tools["py__add"]
        # the server's own JSON schema, and its arguments checked before the call
        assert add.args.model_json_schema()["required"] == ["a"]
        assert add.call(a=2, b=40) == "42"
        assert add.call(a=2) == "3"  # b left out: the server's default
        assert add.call(b=1).startswith("error: bad arguments for py__add: a:")
        assert mcp.tools["every__echo"].call(message="hi") == "Echo: hi"
        # structured content, when a tool sends it, and text blocks joined
        assert "7" in mcp.tools["every__get-sum"].call(a=3, b=4)


def test_a_slow_tool_times_out_and_a_failing_tool_raises(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    crew_with(make_crew, {"py": python_server(timeout_s=1)})
    spec = load_crew("mcp", settings.crews_dir)
    with open_mcp(spec.mcp_servers, tmp_path, "run-1") as mcp:
        started = time.monotonic()
        with pytest.raises(McpToolError, match=r"'py': slow did not answer within timeout_s=1s"):
            mcp.tools["py__slow"].call(seconds=5)
        assert time.monotonic() - started < 4
        with pytest.raises(McpToolError, match="the tool crashed: on purpose"):
            mcp.tools["py__crash"].call(reason="on purpose")


def test_a_server_that_dies_names_itself_and_its_stderr(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    crew_with(make_crew, {"py": python_server()})
    spec = load_crew("mcp", settings.crews_dir)
    with open_mcp(spec.mcp_servers, tmp_path, "run-1") as mcp:
        assert mcp.tools["py__echo"].call(text="x") == "echo: x"
        with pytest.raises(McpToolError, match=r"(?s)MCP server 'py'.*goodbye from the test"):
            mcp.tools["py__die"].call()
        with pytest.raises(McpToolError, match=r"(?s)'py' is not running.*goodbye from"):
            mcp.tools["py__echo"].call(text="again")
    assert "goodbye" in (tmp_path / "run-1.mcp-py.stderr.log").read_text()


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (("--fail-start",), "cannot open the test database"),
        (("--hang",), "no handshake within startup_timeout_s=2s"),
    ],
)
def test_a_required_server_that_cannot_start_stops_the_run_before_any_model_call(
    settings: Settings, make_crew: Any, flags: tuple[str, ...], said: str
) -> None:
    crew_with(make_crew, {"broken": python_server(*flags, startup_timeout_s=2)})
    dispatcher, script = dispatcher_for(settings, ["Final Answer: never"])

    with pytest.raises(ConfigError, match=r"MCP server 'broken' did not start") as caught:
        dispatcher.run(load_crew("mcp", settings.crews_dir), {})

    assert said in str(caught.value) and "required: false" in str(caught.value)
    assert script.calls == []
    assert RunStore(settings.runs_db).recent() == []


def test_the_command_line_exits_2_naming_the_server_and_its_stderr(
    settings: Settings,
    make_crew: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    crew_with(make_crew, {"broken": python_server("--fail-start")})
    cli_uses(settings, monkeypatch)

    assert main(["--crew", "mcp"]) == 2

    err = capsys.readouterr().err
    assert "MCP server 'broken' did not start" in err
    assert "cannot open the test database (on purpose)" in err


def test_an_optional_server_that_cannot_start_leaves_a_note_and_the_run_goes_on(
    settings: Settings, make_crew: Any
) -> None:
    crew_with(
        make_crew,
        {"broken": {"command": "/no/such/mcp-server", "required": False}, "py": python_server()},
    )
    dispatcher, script = dispatcher_for(settings, ["Final Answer: done without it"])

    result = dispatcher.run(load_crew("mcp", settings.crews_dir), {})

    assert result.output == "done without it"
    assert any("MCP server broken did not start" in n for n in result.notes)
    events = dict(RunStore(settings.runs_db).events(result.run_id))
    assert "/no/such/mcp-server" in events["mcp_server_failed"]["reason"]
    assert "py__echo" in events["mcp_servers"]["servers"]["py"]
    # the agent was offered the server that ran (CrewAI spells py__echo py_echo)
    assert "Say the text back" in str(script.calls[0])


def test_streamable_http_with_headers_from_the_environment(
    settings: Settings, make_crew: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROBE_VALUE", "probe-from-env")
    secret = "literal-secret-header-0123456789"
    with http_server(tmp_path / "http.log") as url:
        crew_with(
            make_crew,
            {
                "web": {
                    "url": url,
                    "headers": {"X-Probe": "${PROBE_VALUE}", "X-Secret": secret},
                    "tools": {"allow": ["add", "header"]},
                }
            },
        )
        spec = load_crew("mcp", settings.crews_dir)
        assert spec.mcp_servers["web"].headers["X-Probe"] == "${PROBE_VALUE}"  # kept unexpanded
        reply = (
            'Thought: ask\nAction: web__header\nAction Input: {"name": "X-Secret"}',
            'Thought: ask\nAction: web__header\nAction Input: {"name": "X-Probe"}',
            "Thought: done\nFinal Answer: checked",
        )
        dispatcher, script = dispatcher_for(settings, list(reply))
        result = dispatcher.run(spec, {})

    assert result.output == "checked"
    assert "probe-from-env" in str(script.calls[2])
    assert secret in str(script.calls[1])  # the agent reads what the tool answered
    events = RunStore(settings.runs_db).events(result.run_id)
    calls = [d for k, d in events if k == "tool_call"]
    assert [c["tool"] for c in calls] == ["web__header", "web__header"]
    assert secret not in str(events) and "[REDACTED]" in calls[0]["result"]
    assert secret not in Path(result.log_file).read_text()


def test_a_missing_variable_is_named_at_load(
    settings: Settings, make_crew: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_TOKEN", raising=False)
    crew_with(
        make_crew,
        {"web": {"url": "http://127.0.0.1:9/mcp", "headers": {"A": "Bearer ${NOT_SET_TOKEN}"}}},
    )
    with pytest.raises(ConfigError, match="environment variable NOT_SET_TOKEN is not set") as e:
        load_crew("mcp", settings.crews_dir)
    assert e.value.key == "mcp_servers.web.headers.A" and e.value.line is not None
