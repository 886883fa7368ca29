"""The seams: a new engine, provider, memory backend or tool plugs in through its registry or an
entry point, and the rest of crewyard works with it unchanged — the loader checks its options,
the dispatcher runs it, the gateway calls it, runs remember through it, agents call it."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

import crewyard
from crewyard import engines, plugins, tools
from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.errors import ConfigError, ModelError
from crewyard.gateway import CallRecord, Gateway, providers
from crewyard.gateway.config import ModelTable
from crewyard.memory.lazy import LazyMemory
from crewyard.runs.store import RunStore
from crewyard.settings import Settings
from tests.conftest import write_yaml
from tests.unit import seam_plugins

PLUGINS = "tests.unit.seam_plugins"


ECHO_ENGINE = ("crewyard.engines", "echo", "ENGINE")


def plugged(*plugins: tuple[str, str, str]) -> Any:
    """plugins.declared as it answers when another package declares these (group, name,
    attribute of seam_plugins) entry points."""
    declared = [EntryPoint(name=n, value=f"{PLUGINS}:{a}", group=g) for g, n, a in plugins]

    def answer(group: str) -> list[EntryPoint]:
        return [entry for entry in declared if entry.group == group]

    return answer


@pytest.fixture
def echo_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The echo engine, declared by another package's `crewyard.engines` entry point."""
    monkeypatch.setattr(engines, "_registered", list(engines._registered))
    monkeypatch.setattr(engines, "_plugins_loaded", False)
    monkeypatch.setattr(plugins, "declared", plugged(ECHO_ENGINE))
    yield


@pytest.fixture
def echo_crew(make_crew: Any) -> Path:
    return make_crew(
        "echoes",
        crew={"process": "echo", "engine_options": {"shout": True}, "memory": {"recall": 3}},
        agents={"speaker": {"role": "Speaker", "goal": "Repeat", "backstory": "Loud."}},
        tasks={
            "first": {"description": "Say {word}", "expected_output": "x", "output_file": "a.md"},
            "second": {"description": "Again", "expected_output": "y", "agent": "speaker"},
        },
    )


def scripted(settings: Settings, replies: list[str]) -> Gateway:
    gateway = Gateway(ModelTable.load(settings.models_file))
    gateway.register_script("main", replies)
    return gateway


def test_an_engine_plugin_brings_its_process_and_options(
    echo_engine: None, echo_crew: Path, settings: Settings
) -> None:
    spec = load_crew("echoes", settings.crews_dir, engines.processes())
    assert spec.process == "echo" and spec.engine_options == {"shout": True}
    assert engines.engine_for("echo").name == "echo-engine"
    dispatcher = Dispatcher(
        settings, gateway=scripted(settings, ["hello", "hello again"]), memory=seam_plugins.SHARED
    )
    assert dispatcher.plan(spec).engine == "echo-engine"

    result = dispatcher.run(spec, {"word": "hi"})

    assert (result.engine, result.status, result.output) == ("echo-engine", "done", "HELLO AGAIN")
    assert [t.output_file for t in result.task_outputs] == ["a.md", None]
    assert (Path(result.output_dir or "") / "a.md").read_text() == "HELLO"
    store = RunStore(settings.runs_db)
    assert [c.task for c in store.checkpoints(result.run_id)] == ["first", "second"]
    kinds = [k for k, _ in store.events(result.run_id)]
    assert kinds.count("task_finished") == 2 and kinds.count("model_call") == 2
    assert result.usage["calls"] == 2


def test_a_plugin_process_checks_its_options_at_load(
    echo_engine: None, make_crew: Any, settings: Settings
) -> None:
    make_crew(
        "typo",
        crew={"process": "echo", "engine_options": {"shuot": True}},
        agents={"a": {"role": "r", "goal": "g", "backstory": "b"}},
        tasks={"t": {"description": "d", "expected_output": "e"}},
    )
    with pytest.raises(ConfigError) as info:
        load_crew("typo", settings.crews_dir, engines.processes())
    assert info.value.key == "engine_options.shuot" and info.value.line == 3
    assert "did you mean 'shout'?" in str(info.value)
    with pytest.raises(ConfigError, match="unknown process 'echo'") as unknown:
        load_crew("typo", settings.crews_dir)  # without the plugin's processes
    assert unknown.value.key == "process"


def test_an_unknown_process_names_the_known_ones(make_crew: Any, settings: Settings) -> None:
    make_crew(
        "odd",
        crew={"process": "debait"},
        agents={"a": {"role": "r", "goal": "g", "backstory": "b"}},
        tasks={"t": {"description": "d", "expected_output": "e"}},
    )
    with pytest.raises(ConfigError, match="did you mean 'debate'") as info:
        load_crew("odd", settings.crews_dir, engines.processes())
    assert (info.value.line, info.value.key) == (1, "process")


def test_a_provider_plugin_serves_its_prefix_before_litellm(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(providers, "_registered", {})
    monkeypatch.setattr(providers, "_plugins_loaded", False)
    monkeypatch.setattr(
        plugins, "declared", plugged(("crewyard.providers", "parrot", "ParrotProvider"))
    )
    models = write_yaml(tmp_path / "models.yaml", {"aliases": {"fast": {"model": "parrot/p1"}}})
    gateway = Gateway(ModelTable.load(models, env={}))
    calls: list[CallRecord] = []

    reply = gateway.for_run(on_record=calls.append).complete(
        "fast", [{"role": "user", "content": "stressed"}]
    )

    assert (reply.text, reply.model, reply.alias) == ("desserts", "parrot/p1", "fast")
    assert [(c.alias, c.model, c.cost_usd, c.error) for c in calls] == [
        ("fast", "parrot/p1", 0.0, None)
    ]
    assert gateway.context_window("fast") == 321
    assert gateway.model_info("fast")["function_calling"] is True
    assert gateway.count_tokens("fast", [{"role": "user", "content": "a b c"}]) == 3
    gateway.check(["fast"])  # no API key is asked of it
    assert gateway._router is None  # LiteLLM's Router was never needed


def test_a_provider_error_is_retried_or_not_by_its_status(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    class Flaky(seam_plugins.ParrotProvider):
        def complete(self, model: str, messages: Any, options: Any) -> Any:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionResetError("dropped")
            return super().complete(model, messages, options)

    monkeypatch.setattr(providers, "_registered", {})
    providers.register("flaky", Flaky)
    aliases = {"ok": {"model": "flaky/x", "retry_backoff_s": 0}}
    gateway = Gateway(ModelTable.load(write_yaml(tmp_path / "m.yaml", {"aliases": aliases})))
    calls: list[CallRecord] = []
    run = gateway.for_run(on_record=calls.append)
    assert run.complete("ok", [{"role": "user", "content": "ab"}]).text == "ba"
    assert [c.attempt for c in calls] == [1, 2] and "dropped" in (calls[0].error or "")

    class Refusing(seam_plugins.ParrotProvider):
        def complete(self, model: str, messages: Any, options: Any) -> Any:
            self.calls += 1
            error = ValueError("the request is malformed")
            error.status_code = 400  # type: ignore[attr-defined]
            raise error

    providers.register("flaky", Refusing)
    gateway = Gateway(ModelTable.load(write_yaml(tmp_path / "m.yaml", {"aliases": aliases})))
    with pytest.raises(ModelError, match="malformed"):
        gateway.complete("ok", [{"role": "user", "content": "ab"}])
    assert gateway.providers["flaky"].calls == 1  # type: ignore[attr-defined]


def test_a_memory_backend_plugin_is_recalled_and_remembered(
    echo_engine: None,
    echo_crew: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    memory_plugin = ("crewyard.memory", "lists", "open_list_memory")
    monkeypatch.setattr(plugins, "declared", plugged(ECHO_ENGINE, memory_plugin))
    monkeypatch.setattr(seam_plugins, "SHARED", seam_plugins.ListMemory())
    backend = settings.model_copy(update={"memory_backend": "lists"})
    seam_plugins.SHARED.add_fact("Say hi means greet warmly", crew="other", run_id="r0")
    dispatcher = Dispatcher(backend, gateway=scripted(settings, ["hi", "bye"]))
    memory = dispatcher.memory
    assert isinstance(memory, LazyMemory) and memory.opened is seam_plugins.SHARED
    spec = load_crew("echoes", settings.crews_dir, engines.processes())

    result = dispatcher.run(spec, {"word": "hi"})

    events = RunStore(settings.runs_db).events(result.run_id)
    recalled = [data for kind, data in events if kind == "memory_recalled"]
    assert recalled and "greet warmly" in recalled[0]["text"]
    assert [data for kind, data in events if kind == "memory_stored"] == [
        {"facts": 0, "rejected": 0, "entities": 0, "episodes": 1, "short_term": 2}
    ]
    scopes = [i.scope for i in seam_plugins.SHARED.items]
    assert scopes.count("episodes") == 1 and scopes.count("short_term") == 2

    wrong = settings.model_copy(update={"memory_backend": "listz"})
    with pytest.raises(ConfigError, match="did you mean 'lists'"):
        crewyard.memory(wrong)


def test_a_tool_plugin_can_be_named_by_crews(
    monkeypatch: pytest.MonkeyPatch, make_crew: Any, settings: Settings
) -> None:
    monkeypatch.setattr(tools, "_registered", {})
    monkeypatch.setattr(tools, "_plugins_loaded", False)
    monkeypatch.setattr(plugins, "declared", plugged(("crewyard.tools", "wc", "word_count")))
    make_crew(
        "counting",
        agents={"a": {"role": "r", "goal": "g", "backstory": "b", "tools": ["word_count"]}},
        tasks={"t": {"description": "d", "expected_output": "e", "tools": ["calculator"]}},
    )
    spec = load_crew("counting", settings.crews_dir)
    assert spec.agents["a"].tools == ("word_count",)
    assert tools.registered()["word_count"].call(text="one two three") == "3"
    make_crew(
        "typo",
        agents={"a": {"role": "r", "goal": "g", "backstory": "b", "tools": ["word_cont"]}},
        tasks={"t": {"description": "d", "expected_output": "e"}},
    )
    with pytest.raises(ConfigError, match="did you mean 'word_count'"):
        load_crew("typo", settings.crews_dir)
