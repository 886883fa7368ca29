"""crewai-tools by name on both engines: CrewAI gets the crewai tool itself (its text protocol,
scripted model), AutoGen a function tool over the same schema (native tool calls, fakellm).
Paths stay inside the workspace on both; a tool's missing API key stops the run before it
starts; an agent with more tools than max_tools is offered the ones like its task."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.errors import ConfigError
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.fakellm import FakeLLM, Reply

AGENT = {"role": "Reader", "goal": "Read the docs", "backstory": "b", "max_iter": 6}
TASK = {"description": "Summarise the docs", "expected_output": "a summary", "agent": "a"}


def docs_crew(make_crew: Any, tmp_path: Path, tools: list[Any], **crew: Any) -> Path:
    folder: Path = make_crew(
        "reader",
        agents={"a": {**AGENT, "tools": tools}},
        tasks={"t": TASK},
        crew={"workspace": {"folders": ["docs"]}, "memory": {"enabled": False}, **crew},
    )
    (folder / "docs").mkdir(exist_ok=True)
    (folder / "docs" / "intro.md").write_text("Tides follow the moon.\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("the moon is cheese")
    if not (folder / "docs" / "leak.md").is_symlink():
        (folder / "docs" / "leak.md").symlink_to(secret)
    return folder


def tool_calls(settings: Settings, run_id: str) -> list[dict[str, Any]]:
    events = RunStore(settings.runs_db).events(run_id)
    return [d for kind, d in events if kind == "tool_call"]


def act(tool: str, args: dict[str, Any]) -> str:
    return f"Thought: use it\nAction: {tool}\nAction Input: {json.dumps(args)}"


def test_crewai_runs_file_read_and_directory_read_tools_inside_the_workspace(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    docs_crew(make_crew, tmp_path, ["FileReadTool", "directory_read_tool"])
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script(
        "main",
        [
            act("List files in directory", {"directory": "docs"}),
            act("Read a file's content", {"file_path": "docs/intro.md"}),
            act("Read a file's content", {"file_path": "../secret.txt"}),
            act("Read a file's content", {"file_path": "docs/leak.md"}),
            "Thought: done\nFinal Answer: The tides follow the moon.",
        ],
    )
    result = Dispatcher(settings, gateway=gateway).run(load_crew("reader", settings.crews_dir))

    assert result.output == "The tides follow the moon."
    prompts = [json.dumps(c) for c in script.calls]
    assert "docs/intro.md" in prompts[1]  # the listing, in workspace paths
    assert "Tides follow the moon." in prompts[2]
    assert "contains '..'" in prompts[3]
    assert "leads outside the workspace" in prompts[4]
    assert not any("cheese" in p for p in prompts)
    calls = tool_calls(settings, result.run_id)
    assert [c["tool"] for c in calls] == ["directory_read_tool"] + ["file_read_tool"] * 3
    assert all(c["duration_ms"] >= 0 and "result_chars" in c for c in calls)


def test_autogen_calls_crewai_tools_natively_inside_the_workspace(
    settings: Settings,
    make_crew: Any,
    tmp_path: Path,
    fakellm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = docs_crew(
        make_crew,
        tmp_path,
        ["FileReadTool", "DirectoryReadTool"],
        process="debate",
        engine_options={"rounds": 1, "debaters": ["a"], "judge": "judge"},
    )
    agents = {"a": {**AGENT, "tools": ["FileReadTool", "DirectoryReadTool"]}, "judge": AGENT}
    (folder / "agents.yaml").write_text(json.dumps(agents))
    (folder / "tasks.yaml").write_text(json.dumps({"t": {**TASK, "agent": None}}))

    def call(n: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
        arguments = json.dumps(args)
        return {
            "id": f"c{n}",
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }

    fakellm.add(
        Reply(
            tool_calls=[
                call(1, "directory_read_tool", {"directory": "docs"}),
                call(2, "file_read_tool", {"file_path": "docs/intro.md"}),
                call(3, "file_read_tool", {"file_path": "docs/leak.md"}),
                call(4, "file_read_tool", {"file_path": "/etc/hostname"}),
            ]
        ),
        "The docs say tides follow the moon.",
        "Verdict: tides follow the moon.",
    )
    monkeypatch.setenv("FAKE_KEY", "tool-key-0000")
    alias = {"model": "openai/gpt-4o-mini", "api_base": fakellm.url, "api_key_env": "FAKE_KEY"}
    settings.models_file.write_text(
        json.dumps({"aliases": {"standard": {**alias, "num_retries": 0}}})
    )

    result = Dispatcher(settings).run(load_crew("reader", settings.crews_dir))

    first = fakellm.requests[0]
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in first["tools"]}
    assert set(schemas) == {"file_read_tool", "directory_read_tool"}
    assert "file_path" in schemas["file_read_tool"]["properties"]
    answers = [m["content"] for m in fakellm.requests[1]["messages"] if m["role"] == "tool"]
    assert "docs/intro.md" in answers[0]
    assert "Tides follow the moon." in answers[1]
    assert "leads outside the workspace" in answers[2]
    assert "absolute path" in answers[3]
    assert not any("cheese" in a for a in answers)
    assert result.output == "Verdict: tides follow the moon."
    # AutoGen runs a reply's tool calls concurrently: their events come in any order
    assert sorted(c["tool"] for c in tool_calls(settings, result.run_id)) == [
        "directory_read_tool",
        *["file_read_tool"] * 3,
    ]


def test_a_tool_needing_an_api_key_stops_the_run_before_it_starts(
    settings: Settings, make_crew: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SERPER_API_KEY", raising=False)
    docs_crew(make_crew, tmp_path, ["SerperDevTool"])
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", ["Final Answer: never"])
    with pytest.raises(ConfigError) as info:
        Dispatcher(settings, gateway=gateway).run(load_crew("reader", settings.crews_dir))
    assert "SERPER_API_KEY" in info.value.message and "SerperDevTool" in info.value.message
    assert script.calls == []
    assert RunStore(settings.runs_db).recent() == []  # no run was started


def test_unknown_crewai_tool_names_its_neighbour_and_bad_options_are_load_errors(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    docs_crew(make_crew, tmp_path, ["FileReedTool"])
    with pytest.raises(ConfigError) as info:
        load_crew("reader", settings.crews_dir)
    assert "FileReadTool" in (info.value.hint or "") and info.value.key == "a.tools.0"
    docs_crew(make_crew, tmp_path, [{"name": "FileReadTool", "args": {"file_pth": "x"}}])
    with pytest.raises(ConfigError) as info:
        load_crew("reader", settings.crews_dir)
    assert "no option 'file_pth'" in info.value.message


def test_an_agent_with_more_than_max_tools_is_offered_the_ones_like_its_task(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    tools = ["calculator", "read_file", "write_file", "list_files", "search_files"]
    docs_crew(make_crew, tmp_path, tools)
    agents = {"a": {**AGENT, "tools": tools, "max_tools": 2}}
    (settings.crews_dir / "reader" / "agents.yaml").write_text(json.dumps(agents))
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", ["Thought: done\nFinal Answer: ok"])
    dispatcher = Dispatcher(settings, gateway=gateway)

    class Keywords:
        def embed(self, texts: list[str]) -> list[list[float]]:
            return [[float("summar" in t.lower() or "read" in t.lower())] for t in texts]

    spec = load_crew("reader", settings.crews_dir)
    import crewyard.context as context

    original = context.RunContext.__post_init__

    def with_embedder(self: Any, *args: Any) -> None:
        original(self, *args)
        self.embedder = Keywords()

    try:
        context.RunContext.__post_init__ = with_embedder  # type: ignore[method-assign]
        result = dispatcher.run(spec)
    finally:
        context.RunContext.__post_init__ = original  # type: ignore[method-assign]

    events = RunStore(settings.runs_db).events(result.run_id)
    # the agent's own set (CrewAI's default for it), then the task's choice
    selected = {d["task"]: d for kind, d in events if kind == "tools_selected"}
    assert set(selected) == {None, "t"}
    # "read" (read_file) and "summar" (write_file: "…notes/summary.md") are like the task
    assert selected["t"]["selected"] == ["read_file", "write_file"]
    assert selected["t"]["by"] == "embedding" and selected["t"]["offered"] == 5
    assert selected["t"]["scores"]["calculator"] == 0
    prompt = json.dumps(script.calls[0])
    assert "read_file" in prompt and "calculator" not in prompt


def test_tools_that_reach_the_network_say_so_at_load(
    settings: Settings, make_crew: Any, tmp_path: Path
) -> None:
    docs_crew(make_crew, tmp_path, ["ScrapeWebsiteTool", "FileReadTool", "PDFSearchTool"])
    notes = load_crew("reader", settings.crews_dir).warnings
    network = [n for n in notes if "reaches the network" in n]
    assert len(network) == 2, notes
    assert "ScrapeWebsiteTool" in network[0] and "web services" in network[0]
    assert "PDFSearchTool" in network[1] and "embeds" in network[1]
    assert not any("FileReadTool" in n for n in notes)  # works offline: nothing to say


def test_a_tool_whose_package_is_missing_stops_the_run_before_it_starts(
    settings: Settings, make_crew: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAVILY_API_KEY", "tvly-0000")
    docs_crew(make_crew, tmp_path, ["TavilySearchTool"])
    gateway = Gateway(ModelTable.load(settings.models_file))
    script = gateway.register_script("main", ["Final Answer: never"])
    with pytest.raises(ConfigError) as info:
        Dispatcher(settings, gateway=gateway).run(load_crew("reader", settings.crews_dir))
    assert "tavily-python" in info.value.message and "TavilySearchTool" in info.value.message
    assert "pip install tavily-python" in (info.value.hint or "")
    assert script.calls == [] and RunStore(settings.runs_db).recent() == []
