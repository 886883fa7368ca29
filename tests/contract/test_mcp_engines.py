"""MCP tools inside runs on both engines: CrewAI through its text protocol (scripted model),
AutoGen through native tool calls (tests/fakellm); an agent's own `mcps:`; a server that dies
mid-run while the run goes on."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher, RunFailed
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.contract.test_autogen_engine import dispatcher_for
from tests.contract.test_memory_tools import models
from tests.fakellm import FakeLLM, Reply
from tests.mcp_servers import PY_SERVER, npm_server, python_server

NO_MEMORY = {"memory": {"enabled": False}}


def tool_calls(settings: Settings, run_id: str) -> list[dict[str, Any]]:
    return [d for k, d in RunStore(settings.runs_db).events(run_id) if k == "tool_call"]


def test_crewai_agent_reads_a_file_through_the_filesystem_server(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("Tides follow the moon.")
    servers = {
        "files": {
            "command": "node",
            "args": [npm_server("filesystem"), str(docs)],
            "tools": {"allow": ["read_text_file", "list_directory"]},  # small prompts
        }
    }
    make_crew(
        "reader",
        crew={"mcp_servers": servers, **NO_MEMORY},
        agents={"a": {"role": "Reader", "goal": "g", "backstory": "b", "max_iter": 4}},
        tasks={"t": {"description": "Read the notes", "expected_output": "A summary"}},
    )
    read = json.dumps({"path": str(docs / "notes.txt")})
    dispatcher, script = dispatcher_for(
        settings,
        [
            f"Thought: read it\nAction: files__read_text_file\nAction Input: {read}",
            "Thought: done\nFinal Answer: the moon",
        ],
    )

    result = dispatcher.run(load_crew("reader", settings.crews_dir), {})

    assert result.output == "the moon"
    assert "Tides follow the moon." in str(script.calls[1])  # the observation
    [call] = tool_calls(settings, result.run_id)
    assert call["tool"] == "files__read_text_file" and not call["failed"]


def test_autogen_agent_calls_an_mcp_tool_natively(
    settings: Settings, make_crew: Any, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_crew(
        "debate",
        crew={
            "process": "debate",
            "engine_options": {"rounds": 1, "debaters": ["pro"]},
            "mcp_servers": {"py": python_server(tools={"allow": ["echo", "add"]})},
            **NO_MEMORY,
        },
        agents={n: {"role": n.title(), "goal": "g", "backstory": "b"} for n in ("pro", "judge")},
        tasks={"d": {"description": "Is the echo good?", "expected_output": "Verdict"}},
    )
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "py__echo", "arguments": '{"text": "sodium"}'},
    }
    fakellm.add(Reply(tool_calls=[call]), "The echo is good.", "Verdict: yes.")
    models(settings, fakellm, "openai/gpt-4o-mini", monkeypatch)

    result = Dispatcher(settings).run(load_crew("debate", settings.crews_dir), {})

    offered = {t["function"]["name"]: t["function"] for t in fakellm.requests[0]["tools"]}
    assert set(offered) == {"py__echo", "py__add"}
    assert offered["py__add"]["parameters"]["required"] == ["a"]  # the server's schema
    tool_reply = fakellm.requests[1]["messages"][-1]
    assert tool_reply["role"] == "tool" and tool_reply["content"] == "echo: sodium"
    assert result.output == "Verdict: yes."


def test_an_agents_mcps_tools_are_its_own(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    command = f"{sys.executable} {PY_SERVER}"  # the filesystem server's prompt is too long
    make_crew(
        "pair",
        crew=NO_MEMORY,
        agents={
            "reader": {"role": "Reader", "goal": "g", "backstory": "b", "mcps": [command]},
            "writer": {"role": "Writer", "goal": "g", "backstory": "b"},
        },
        tasks={
            "read": {"description": "Read", "expected_output": "x", "agent": "reader"},
            "write": {"description": "Write", "expected_output": "y", "agent": "writer"},
        },
    )
    spec = load_crew("pair", settings.crews_dir)
    assert list(spec.mcp_servers) == ["server"]  # named after the script it runs
    assert spec.mcp_servers["server"].agent == "reader"

    def reply(messages: list[dict[str, Any]]) -> str:
        text = str(messages)
        if "You are Writer" in text:
            return "Final Answer: written"
        if "echo: only the reader" in text:
            return "Final Answer: read"
        return 'Action: server__echo\nAction Input: {"text": "only the reader"}'

    dispatcher, script = dispatcher_for(settings, reply)
    result = dispatcher.run(spec, {})

    assert result.output == "written"
    reader = [c for c in script.calls if "You are Reader" in str(c)]
    writer = [c for c in script.calls if "You are Writer" in str(c)]
    assert "server_echo" in str(reader[0])  # CrewAI's spelling of server__echo
    assert writer and "server_echo" not in str(writer) and "Say the text back" not in str(writer)
    assert [c["tool"] for c in tool_calls(settings, result.run_id)] == ["server__echo"]


def test_a_server_that_dies_mid_run_is_named_and_the_run_goes_on(
    settings: Settings, make_crew: Any
) -> None:
    make_crew(
        "fragile",
        crew={"mcp_servers": {"py": python_server()}, **NO_MEMORY},
        agents={"a": {"role": "Clerk", "goal": "g", "backstory": "b", "max_iter": 8}},
        tasks={"t": {"description": "Try the tools", "expected_output": "x"}},
    )
    # each echo asks something new (CrewAI answers a repeated call from its tool cache)
    echoes = [f'Action: py__echo\nAction Input: {{"text": "there {i}?"}}' for i in range(4)]
    dispatcher, script = dispatcher_for(
        settings, ["Action: py__die\nAction Input: {}", *echoes, "Final Answer: carried on"]
    )

    result = dispatcher.run(load_crew("fragile", settings.crews_dir), {})

    assert result.status == "done" and result.output == "carried on"
    after_die = str(script.calls[1])
    assert "MCP server 'py'" in after_die and "goodbye from the test server" in after_die
    calls = tool_calls(settings, result.run_id)
    assert [c["tool"] for c in calls] == ["py__die"] + ["py__echo"] * 4
    assert [bool(c.get("skipped")) for c in calls] == [False] * 4 + [True]
    assert any(n.startswith("tool py__echo switched off") for n in result.notes)


@pytest.mark.parametrize("ending", [KeyboardInterrupt, RuntimeError])
def test_the_servers_process_ends_with_the_run_however_it_ends(
    settings: Settings, make_crew: Any, ending: type[BaseException]
) -> None:
    make_crew(
        "ends",
        crew={"mcp_servers": {"py": python_server(tools={"allow": ["pid"]})}, **NO_MEMORY},
        agents={"a": {"role": "Clerk", "goal": "g", "backstory": "b", "max_retry_limit": 0}},
        tasks={"t": {"description": "Ask the pid", "expected_output": "x"}},
    )

    asked: list[int] = []

    def reply(messages: list[dict[str, Any]]) -> str:
        asked.append(1)
        if len(asked) == 1:
            return "Action: py__pid\nAction Input: {}"
        raise ending("stop here (Ctrl-C or a failure)")

    dispatcher, _ = dispatcher_for(settings, reply)
    with pytest.raises((KeyboardInterrupt, RunFailed)):
        dispatcher.run(load_crew("ends", settings.crews_dir), {})

    [run] = RunStore(settings.runs_db).recent()
    [call] = tool_calls(settings, run.id)
    pid = int(call["result"])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
