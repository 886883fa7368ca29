"""Streaming for real: LiteLLM against fakellm's SSE (usage from its last chunk), the embedded
model (usage counted as llama.cpp counts a whole reply, grammar-constrained replies too),
`--stream` on the console, `crewyard.run(on_event=…)`, and AutoGen's create_stream."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from autogen_core.models import CreateResult, UserMessage

import crewyard
from crewyard.cli import main
from crewyard.crews.loader import load_crew
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.gateway.records import Chunk, Completion
from crewyard.runs.events import Event, EventKind
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import cli_uses, write_yaml
from tests.fakellm import FakeLLM, Reply

HI = [{"role": "user", "content": "Say something about tides."}]
SAME = ("text", "prompt_tokens", "completion_tokens", "cost_usd", "finish_reason", "model")


def same(a: Completion, b: Completion) -> list[Any]:
    assert [getattr(a, k) for k in SAME] == [getattr(b, k) for k in SAME]
    return [getattr(a, k) for k in SAME]


def fake_gateway(
    tmp_path: Path, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, model: str
) -> Gateway:
    monkeypatch.setenv("FAKE_KEY", "stream-key-0000")
    alias = {"model": model, "api_base": fake.url, "api_key_env": "FAKE_KEY", "timeout": 10}
    path = write_yaml(tmp_path / "models.yaml", {"aliases": {"standard": alias}})
    return Gateway(ModelTable.load(path, env={}))


@pytest.mark.parametrize("model", ["openai/unpriced-model", "openai/gpt-4o-mini"])
def test_litellm_streams_from_an_openai_server_with_the_same_usage_and_price(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch, model: str
) -> None:
    reply = Reply("Tides rise and fall twice a day.", prompt_tokens=1200, completion_tokens=9)
    fakellm.add(reply, reply, reply)
    gw = fake_gateway(tmp_path, fakellm, monkeypatch, model)
    whole = gw.for_run().complete("standard", HI)
    chunks: list[Chunk] = []
    streamed = gw.for_run(on_chunk=chunks.append).complete("standard", HI, agent="a")
    async_chunks: list[Chunk] = []
    run = gw.for_run(on_chunk=async_chunks.append)
    in_async = asyncio.run(run.acomplete("standard", HI))
    same(whole, streamed)
    same(whole, in_async)
    assert (streamed.prompt_tokens, streamed.completion_tokens) == (1200, 9)
    assert (streamed.cost_usd > 0) is (model == "openai/gpt-4o-mini")
    assert len(chunks) == 7 and "".join(c.text for c in chunks) == reply.text
    assert "".join(c.text for c in async_chunks) == reply.text
    first, *rest = fakellm.requests
    assert "stream" not in first and "stream_options" not in first
    assert all(r["stream"] is True for r in rest)
    assert all(r["stream_options"] == {"include_usage": True} for r in rest)


def test_litellm_streams_tool_calls_rebuilt_as_a_whole_reply_has_them(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 1}'},
    }
    fakellm.add(*[Reply("Adding.", tool_calls=[call], completion_tokens=5)] * 2)
    gw = fake_gateway(tmp_path, fakellm, monkeypatch, "openai/unpriced-model")
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    whole = gw.for_run().complete("standard", HI, tools=tools)
    chunks: list[Chunk] = []
    streamed = gw.for_run(on_chunk=chunks.append).complete("standard", HI, tools=tools)
    same(whole, streamed)
    assert [c["function"] for c in streamed.tool_calls] == [c["function"] for c in whole.tool_calls]
    assert streamed.tool_calls[0]["function"] == call["function"]
    assert streamed.finish_reason == "tool_calls" and "".join(c.text for c in chunks) == "Adding."


def local_gateway(tmp_path: Path) -> Gateway:
    models = {
        "aliases": {"fast": {"model": "local/smollm2", "temperature": 0}},
        "local": {"n_ctx": 2048},
    }
    return Gateway(ModelTable.load(write_yaml(tmp_path / "models.yaml", models), env={}))


NAME = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
JSON_NAME = {"type": "json_schema", "json_schema": {"schema": NAME}}


@pytest.mark.parametrize(
    "options",
    [
        {"max_tokens": 12},  # ends at max_tokens
        {"max_tokens": 64},  # ends at the model's own end token
        {"max_tokens": 40, "stop": ["5"]},  # ends at a stop word
        {"max_tokens": 40, "response_format": JSON_NAME},  # decoded by grammar
    ],
)
def test_the_embedded_model_streams_the_same_reply_and_usage(
    tmp_path: Path, options: dict[str, Any]
) -> None:
    gw = local_gateway(tmp_path)
    messages = [{"role": "user", "content": "Write the numbers 1 to 10, one per line."}]
    if "response_format" in options:
        messages = [{"role": "user", "content": "Give a JSON object with a person's name."}]
    # llama.cpp's sums differ by batch size: a prompt evaluated whole and one found in the
    # KV cache can tip a greedy choice, so both calls below start from the same cached state
    gw.for_run().complete("fast", messages, **options)
    whole = gw.for_run().complete("fast", messages, **options)
    chunks: list[Chunk] = []
    streamed = gw.for_run(on_chunk=chunks.append).complete("fast", messages, **options)
    same(whole, streamed)
    assert len(chunks) > 1 and "".join(c.text for c in chunks) == streamed.text
    assert streamed.completion_tokens > 0
    if "response_format" in options:
        assert isinstance(json.loads(streamed.text)["name"], str)
    if "stop" in options:
        assert "5" not in streamed.text and streamed.finish_reason == "stop"


@pytest.fixture
def scripted(settings: Settings, two_step_crew: Path) -> Settings:
    script = ["Final Answer: facts about tides", "# Tides report\n\nThey rise."]
    models = {"aliases": {"standard": {"model": "scripted/main", "script": script}}}
    settings.models_file.write_text(json.dumps(models))
    return settings


def test_stream_prints_each_agents_reply_as_it_comes(
    scripted: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_uses(scripted, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=tides", "--stream"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "# Tides report\n\nThey rise."  # stdout: the output, once
    assert "  researcher · research ▸ Final Answer: facts about tides\n" in err
    assert "  writer · write ▸ # Tides report\n\nThey rise.\n" in err
    assert err.index("researcher is working") < err.index("researcher · research ▸")
    assert err.index("research done") < err.index("writer · write ▸")
    run_id = err.split("runs show ")[1].split(")")[0]
    store = RunStore(scripted.runs_db)
    kinds = [kind for kind, _ in store.events(run_id)]
    assert "model_chunk" not in kinds and kinds.count("model_call") == 2


def test_without_stream_no_reply_text_and_with_quiet_only_the_replies(
    scripted: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_uses(scripted, monkeypatch)
    assert main(["--crew", "demo", "--input", "topic=tides"]) == 0
    err = capsys.readouterr().err
    assert "▸" not in err and "researcher is working on research" in err
    assert main(["--crew", "demo", "--input", "topic=moon", "--stream", "-q", "--no-cache"]) == 0
    err = capsys.readouterr().err
    assert "  researcher · research ▸ Final Answer: facts about tides\n" in err
    assert "is working" not in err and "done" not in err.split("── demo")[0]


def test_on_event_gets_the_events_and_with_stream_the_chunks_also_on_replay(
    scripted: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = load_crew("demo", scripted.crews_dir)
    plain: list[Event] = []
    result = crewyard.run(spec, settings=scripted, on_event=plain.append, topic="tides")
    kinds = [e.kind for e in plain]
    assert kinds[0] == EventKind.RUN_STARTED and kinds[-1] == EventKind.RUN_FINISHED
    assert EventKind.MODEL_CHUNK not in kinds and EventKind.TASK_FINISHED in kinds
    assert "▸" not in capsys.readouterr().err  # no live view asked for

    seen: list[Event] = []
    crewyard.run(spec, settings=scripted, on_event=seen.append, stream=True, replay=result.run_id)
    chunks = [e.data for e in seen if e.kind == EventKind.MODEL_CHUNK]
    # a replay calls no model: each recorded reply comes whole
    assert [(c["agent"], c["text"], c["whole"]) for c in chunks] == [
        ("researcher", "Final Answer: facts about tides", True),
        ("writer", "# Tides report\n\nThey rise.", True),
    ]
    assert "writer · write ▸ # Tides report" in capsys.readouterr().err  # the live view


def test_debaters_stream_through_autogen(settings: Settings, make_crew: Any) -> None:
    agents = {
        "proposer": {"role": "Proposer", "goal": "Argue yes", "backstory": "Bold."},
        "critic": {"role": "Critic", "goal": "Argue no", "backstory": "Careful."},
        "judge": {"role": "Judge", "goal": "Decide", "backstory": "Fair."},
    }
    task = {"description": "Debate: {question}", "expected_output": "A verdict"}
    crew = {"process": "debate", "inputs": {"question": {}}, "engine_options": {"rounds": 1}}
    make_crew("debate", crew=crew, agents=agents, tasks={"decide": task})
    script = ["Yes, because tea warms.", "No, tea keeps you awake.", "Verdict: tea, before noon."]
    settings.models_file.write_text(
        json.dumps({"aliases": {"standard": {"model": "scripted/main", "script": script}}})
    )

    class Listener:
        wants_chunks = True

        def __init__(self) -> None:
            self.chunks: list[dict[str, Any]] = []

        def __call__(self, event: Event) -> None:
            if event.kind == EventKind.MODEL_CHUNK:
                self.chunks.append(event.data)

    listener = Listener()
    spec = load_crew("debate", settings.crews_dir)
    result = crewyard.run(spec, settings=settings, on_event=listener, question="Tea?")
    assert result.output == "Verdict: tea, before noon."
    by_agent: dict[str, str] = {}
    for c in listener.chunks:
        by_agent[c["agent"]] = by_agent.get(c["agent"], "") + c["text"]
    assert by_agent == dict(zip(["proposer", "critic", "judge"], script, strict=True))
    assert len(listener.chunks) > 3


def test_autogen_create_stream_yields_chunks_then_the_create_result(
    settings: Settings, two_step_crew: Path
) -> None:
    from crewyard.context import RunContext
    from crewyard.engines.autogen_adapters import GatewayChatClient
    from crewyard.runs.events import EventSink
    from crewyard.runs.store import new_run_id

    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", ["The tide comes in twice a day."])
    store = RunStore(settings.runs_db)
    run_id = new_run_id()
    store.start(run_id, "demo", {}, "autogen", settings.data_dir, None)
    ctx = RunContext(
        run_id=run_id,
        spec=load_crew("demo", settings.crews_dir),
        inputs={},
        settings=settings,
        shared_gateway=gateway,
        store=store,
        events=EventSink(run_id, "demo", store),
        output_dir=settings.data_dir,
    )
    client = GatewayChatClient(ctx, "standard", "researcher", lambda: "research")

    async def read() -> list[str | CreateResult]:
        messages = [UserMessage(content="Tell me about tides.", source="user")]
        return [item async for item in client.create_stream(messages)]

    items = asyncio.run(read())
    *texts, last = items
    assert len(texts) == 7 and all(isinstance(t, str) for t in texts)
    assert isinstance(last, CreateResult) and last.content == "".join(map(str, texts))
    assert last.content == "The tide comes in twice a day." and last.finish_reason == "stop"
    assert last.usage.completion_tokens > 0 and client.total_usage() == last.usage
    assert [c["agent"] for c in store.model_calls(run_id)] == ["researcher"]


def test_stream_shows_the_run_live_under_a_notebook_cell(scripted: Settings) -> None:
    script = ["Final Answer: facts about tides", "# Tides report\n\nThey rise."] * 2
    models = {"aliases": {"standard": {"model": "scripted/main", "script": script}}}
    scripted.models_file.write_text(json.dumps(models))
    import nbformat
    from nbclient import NotebookClient

    root = Path(__file__).resolve().parents[2]
    cells = [
        f"import sys; sys.path.insert(0, {str(root)!r})\n"
        "import crewyard\nfrom crewyard.settings import Settings\n"
        f"settings = Settings(data_dir={str(scripted.data_dir)!r}, "
        f"crews_dir={str(scripted.crews_dir)!r}, models_file={str(scripted.models_file)!r})",
        "result = crewyard.run('demo', settings=settings, stream=True, topic='tides')\n"
        "print(result.status)",
        "again = await crewyard.arun('demo', settings=settings, stream=True, topic='moon')\n"
        "print(again.status)",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(notebook, timeout=600, kernel_name="python3")
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
    outputs = notebook.cells[1].outputs
    shown = [o for o in outputs if o.get("output_type") == "display_data"]
    printed = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert len(shown) == 1 and printed.strip() == "done"  # one view, updated in place
    view = shown[0]["data"]["text/plain"]
    assert "  … researcher is working on research\n" in view
    assert "  researcher · research ▸ Final Answer: facts about tides\n" in view
    assert "  writer · write ▸ # Tides report\n\nThey rise.\n  ✓ write done\n" in view
    assert "■ done in " in view
    awaited = notebook.cells[2].outputs
    views = [o["data"]["text/plain"] for o in awaited if o.get("output_type") == "display_data"]
    assert len(views) == 1 and "  writer · write ▸ # Tides report" in views[0]
