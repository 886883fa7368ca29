"""The gateway: aliases, overrides, scripted replies, accounting and clear model errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from crewyard.errors import ConfigError, ModelError
from crewyard.gateway import CallRecord, Gateway
from crewyard.gateway.config import ModelTable, parse_model_overrides
from tests.conftest import write_yaml

HI = [{"role": "user", "content": "hi"}]


def table(tmp_path: Path, aliases: dict[str, Any], env: dict[str, str] | None = None) -> ModelTable:
    path = write_yaml(tmp_path / "models.yaml", {"aliases": aliases})
    return ModelTable.load(path, env=env or {})


def test_scripted_alias_replies_in_order_and_reports_each_call(tmp_path: Path) -> None:
    gateway = Gateway(table(tmp_path, {"fast": {"model": "scripted/s", "script": ["one", "two"]}}))
    calls: list[CallRecord] = []
    first = gateway.for_run(on_record=calls.append).complete("fast", HI, agent="a", task="t")
    second = gateway.for_run(on_record=calls.append).complete("fast", HI)
    assert (first.text, second.text) == ("one", "two")
    assert [(c.alias, c.model, c.agent, c.task) for c in calls] == [
        ("fast", "scripted/s", "a", "t"),
        ("fast", "scripted/s", None, None),
    ]
    assert all(c.cost_usd == 0 and c.completion_tokens > 0 for c in calls)


def test_callable_script_sees_the_messages(tmp_path: Path) -> None:
    gateway = Gateway(table(tmp_path, {"fast": {"model": "scripted/echo"}}))
    gateway.register_script("echo", lambda msgs: msgs[-1]["content"].upper())
    assert gateway.complete("fast", HI).text == "HI"


def test_exhausted_script_is_a_model_error_naming_the_alias(tmp_path: Path) -> None:
    gateway = Gateway(table(tmp_path, {"fast": {"model": "scripted/s", "script": []}}))
    calls: list[CallRecord] = []
    with pytest.raises(ModelError) as info:
        gateway.for_run(on_record=calls.append).complete("fast", HI)
    assert info.value.alias == "fast"
    assert "no reply left" in str(info.value)
    assert len(calls) == 1 and calls[0].error  # failed calls are recorded too


def test_unknown_alias_suggests_one(tmp_path: Path) -> None:
    gateway = Gateway(table(tmp_path, {"smart": {"model": "scripted/s"}}))
    with pytest.raises(ConfigError, match="unknown model alias 'smrt'") as info:
        gateway.complete("smrt", HI)
    assert info.value.hint == "did you mean 'smart'?"


def test_environment_and_cli_overrides(tmp_path: Path) -> None:
    models = table(
        tmp_path,
        {"fast": {"model": "local/smollm2", "max_tokens": 9}},
        env={"CREWYARD_MODEL_FAST": "scripted/env"},
    )
    assert models.aliases["fast"].model == "scripted/env"
    assert models.aliases["fast"].max_tokens == 9  # other settings kept
    assert parse_model_overrides(["smart=openai/gpt-4o"]) == {"smart": "openai/gpt-4o"}
    with pytest.raises(ConfigError, match="is not ALIAS=MODEL"):
        parse_model_overrides(["smart"])


def test_missing_api_key_is_reported_before_any_call(tmp_path: Path) -> None:
    gateway = Gateway(
        table(
            tmp_path,
            {"smart": {"model": "openai/gpt-4o", "api_key_env": "CREWYARD_TEST_NO_SUCH_KEY"}},
        )
    )
    with pytest.raises(ConfigError, match=r"\$CREWYARD_TEST_NO_SUCH_KEY, which is not set"):
        gateway.check(["smart"])


def test_bad_models_yaml_points_at_the_line(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path / "models.yaml",
        "aliases:\n  fast:\n    model: local/smollm2\n    temprature: 0.1\n",
    )
    with pytest.raises(ConfigError) as info:
        ModelTable.load(path, env={})
    assert (info.value.line, info.value.key) == (4, "aliases.fast.temprature")
    assert info.value.hint == "did you mean 'temperature'?"


def test_a_providers_usual_key_is_required_before_the_run(
    settings: Any, make_crew: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """CREWYARD_MODEL_STANDARD=openai/gpt-4o with no OPENAI_API_KEY: stopped before any call,
    naming the variable; the same key in .env is found by the command line (never by the
    library, which leaves the caller's environment alone)."""
    from crewyard.crews.loader import load_crew
    from crewyard.dispatcher import Dispatcher
    from crewyard.settings import Settings

    make_crew(
        "solo",
        crew={"memory": {"enabled": False}},
        agents={"a": {"role": "r", "goal": "g", "backstory": "b"}},
        tasks={"t": {"description": "d", "expected_output": "e"}},
    )
    monkeypatch.setenv("OPENAI_API_KEY", "")  # so that the teardown removes .env's key too
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.chdir(tmp_path)
    spec = load_crew("solo", settings.crews_dir)
    overrides = {"standard": "openai/gpt-4o"}
    with pytest.raises(ConfigError, match=r"needs the API key in \$OPENAI_API_KEY") as info:
        Dispatcher(settings, model_overrides=overrides).run(spec, {})
    assert info.value.exit_code == 2 and "CREWYARD_MODEL_STANDARD" in str(info.value)

    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-dotenv-0000000000000000\n")
    dispatcher = Dispatcher(settings, model_overrides=overrides)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        dispatcher.gateway.check(["standard"])  # the library does not read .env
    assert "OPENAI_API_KEY" not in os.environ
    Settings.for_command_line()  # what `python main.py` does first
    dispatcher.gateway.check(["standard"])  # passes now: the key came from .env
    assert os.environ["OPENAI_API_KEY"].startswith("sk-from-dotenv")
    monkeypatch.delenv("OPENAI_API_KEY")


@pytest.mark.parametrize("size", [40_000, 10 * 1024 * 1024])
def test_a_prompt_the_model_cannot_read_is_refused_before_it_is_sent(
    tmp_path: Path, size: int
) -> None:
    """A 10 MB input once went out whole: 10.5M prompt tokens and 5.4 GB of memory."""
    aliases = {"fast": {"model": "scripted/s", "script": ["never"], "max_tokens": 100}}
    gateway = Gateway(table(tmp_path, aliases))
    calls: list[CallRecord] = []
    huge = [{"role": "user", "content": "word " * (size // 5)}]
    with pytest.raises(ModelError) as info:
        gateway.for_run(on_record=calls.append).complete("fast", huge, agent="a", task="t")
    text = str(info.value)
    assert f"has about {size // 4:,} tokens" in text
    assert "scripted/s reads 8,192 in all, 100 of them kept for the reply" in text
    assert "(task 't', agent 'a')" in text and "ContextWindowExceededError" in text
    assert gateway.scripts["s"].calls == []  # never sent
    assert [c.error is not None for c in calls] == [True]  # the refused attempt is recorded


def test_an_override_of_an_alias_models_yaml_does_not_declare_is_refused(
    tmp_path: Path,
) -> None:
    """`--model typo=openai/gpt-4o` used to change nothing, silently, and exit 0."""
    aliases = {"fast": {"model": "scripted/s"}, "smart": {"model": "scripted/s"}}
    with pytest.raises(ConfigError) as info:
        table(tmp_path, aliases).load(tmp_path / "models.yaml", {"smrt": "openai/gpt-4o"})
    assert "--model smrt=openai/gpt-4o: 'smrt' is not an alias of models.yaml" in str(info.value)
    assert "did you mean 'smart'?" in str(info.value)
    with pytest.raises(ConfigError, match="CREWYARD_MODEL_TYPO: 'typo' is not an alias"):
        table(tmp_path, aliases, env={"CREWYARD_MODEL_TYPO": "openai/gpt-4o"})


def test_the_cli_refuses_a_model_override_typo(
    settings: Any, two_step_crew: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from crewyard.cli import main
    from tests.conftest import cli_uses

    cli_uses(settings, monkeypatch)
    argv = ["--crew", "demo", "--input", "topic=x", "--model", "typo=openai/gpt-4o", "--dry-run"]
    assert main(argv) == 2
    assert "'typo' is not an alias of models.yaml" in capsys.readouterr().err
