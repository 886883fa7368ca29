"""Shared fixtures: an isolated data folder per test, crews written on the fly, and a guard
that fails any test whose code reaches beyond 127.0.0.1."""

from __future__ import annotations

import os

for _flag, _value in {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
}.items():
    os.environ[_flag] = _value

import json  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import yaml  # noqa: E402

from crewyard.settings import Settings  # noqa: E402
from tests.netguard import sitecustomize as netguard  # noqa: E402

pytest_plugins = ["tests.fakellm.plugin"]
netguard.install()

SCRIPTED_MODELS = {
    "aliases": {
        "fast": {"model": "scripted/main"},
        "standard": {"model": "scripted/main"},
        "smart": {"model": "scripted/main"},
    }
}


@pytest.fixture(autouse=True)
def stays_on_loopback() -> Iterator[None]:
    """Every test: no connection and no DNS lookup beyond loopback."""
    before = len(netguard.ATTEMPTS)
    yield
    assert netguard.ATTEMPTS[before:] == [], "the test reached beyond 127.0.0.1"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREWAI_STORAGE_DIR", str(tmp_path / "crewai-storage"))
    for key in [k for k in os.environ if k.startswith("CREWYARD_")]:
        monkeypatch.delenv(key)


def write_yaml(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def crews_dir(tmp_path: Path) -> Path:
    path = tmp_path / "crews"
    path.mkdir()
    return path


MakeCrew = Callable[..., Path]


@pytest.fixture
def make_crew(crews_dir: Path) -> MakeCrew:
    """Write crews_dir/<name>/{crew,agents,tasks}.yaml; dicts are dumped, strings kept as is."""

    def make(
        name: str = "demo", *, crew: Any = None, agents: Any = None, tasks: Any = None
    ) -> Path:
        folder = crews_dir / name
        write_yaml(folder / "crew.yaml", crew if crew is not None else {"description": name})
        if agents is not None:
            write_yaml(folder / "agents.yaml", agents)
        if tasks is not None:
            write_yaml(folder / "tasks.yaml", tasks)
        return folder

    return make


TWO_AGENTS = {
    "researcher": {
        "role": "Researcher",
        "goal": "Find facts about {topic}",
        "backstory": "A careful analyst.",
        "max_retry_limit": 0,
    },
    "writer": {
        "role": "Writer",
        "goal": "Write about {topic}",
        "backstory": "A clear writer.",
        "max_retry_limit": 0,
    },
}
TWO_TASKS = {
    "research": {
        "description": "List facts about {topic}.",
        "expected_output": "Bullets.",
        "agent": "researcher",
    },
    "write": {
        "description": "Write a report on {topic}.",
        "expected_output": "A report.",
        "agent": "writer",
        "context": ["research"],
        "output_file": "report.md",
    },
}
TOPIC_INPUT = {"topic": {"type": "str", "required": True, "description": "Subject"}}


@pytest.fixture
def two_step_crew(make_crew: MakeCrew) -> Path:
    return make_crew(
        "demo",
        crew={"name": "demo", "description": "Two steps", "inputs": TOPIC_INPUT},
        agents=TWO_AGENTS,
        tasks=TWO_TASKS,
    )


def standard_at(
    settings: Settings,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    key: str = "fake-key-for-tests-0001",
    key_env: str = "FAKELLM_API_KEY",
    **alias: Any,
) -> None:
    """models.yaml with one alias, `standard`, calling a fakellm at url (key in key_env)."""
    monkeypatch.setenv(key_env, key)
    standard = {"model": "openai/fake-model", "api_base": url, "api_key_env": key_env}
    models = {"aliases": {"standard": {**standard, "timeout": 20, **alias}}}
    settings.models_file.write_text(json.dumps(models))


def cli_uses(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point `python main.py` (run in-process) at these settings' folders and models.yaml."""
    for key, value in {
        "CREWYARD_DATA_DIR": settings.data_dir,
        "CREWYARD_CREWS_DIR": settings.crews_dir,
        "CREWYARD_MODELS_FILE": settings.models_file,
    }.items():
        monkeypatch.setenv(key, str(value))


@pytest.fixture
def settings(tmp_path: Path, crews_dir: Path) -> Settings:
    """Settings with data, crews and models.yaml (every alias scripted) inside tmp_path."""
    models = write_yaml(tmp_path / "models.yaml", SCRIPTED_MODELS)
    return Settings(data_dir=tmp_path / "data", crews_dir=crews_dir, models_file=models)
