"""CrewAI projects dropped in unchanged: no crew.yaml, tasks without agent, CrewAI keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewyard.crews.loader import discover, load_crew
from crewyard.errors import ConfigError
from crewyard.settings import Settings
from tests.conftest import TWO_AGENTS, write_yaml

TASKS = {
    "research_task": {"description": "Research {topic}.", "expected_output": "Bullets."},
    "writing_task": {"description": "Write on {topic}.", "expected_output": "A report."},
}


def _project(crews_dir: Path, name: str = "proj", *, config: bool = True, **files: object) -> Path:
    folder = crews_dir / name
    where = folder / "config" if config else folder
    write_yaml(where / "agents.yaml", files.get("agents", TWO_AGENTS))
    write_yaml(where / "tasks.yaml", files.get("tasks", TASKS))
    if "crew" in files:
        write_yaml(folder / "crew.yaml", files["crew"])
    if "hooks" in files:
        (folder / "hooks.py").write_text(str(files["hooks"]))
    return folder


@pytest.mark.parametrize("config", [True, False])
def test_a_folder_without_crew_yaml_is_a_crew_with_crewai_defaults(
    crews_dir: Path, config: bool
) -> None:
    _project(crews_dir, config=config)
    assert discover(crews_dir) == ["proj"]
    spec = load_crew("proj", crews_dir)
    assert spec.process == "sequential"
    assert list(spec.tasks) == ["research_task", "writing_task"]
    assert list(spec.inputs) == ["topic"] and spec.inputs["topic"].is_required
    # research_task → researcher, writing_task → writer: the rule, shown by the dry run
    assert {n: t.agent for n, t in spec.tasks.items()} == {
        "research_task": "researcher",
        "writing_task": "writer",
    }
    assert spec.assigned["research_task"] == (
        "assigned by rule: task and agent names share a word stem (first 4 letters)"
    )


def test_a_folder_with_neither_file_says_what_a_crew_folder_needs(crews_dir: Path) -> None:
    write_yaml(crews_dir / "half" / "config" / "agents.yaml", TWO_AGENTS)
    assert discover(crews_dir) == []
    with pytest.raises(
        ConfigError, match=r"is not a crew folder: it has no crew\.yaml and no tasks"
    ):
        load_crew("half", crews_dir)
    (crews_dir / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"no agents\.yaml and no tasks\.yaml") as info:
        load_crew("empty", crews_dir)
    assert "agents.yaml and tasks.yaml" in (info.value.hint or "")
    assert "python main.py new empty" in (info.value.hint or "")


def test_the_only_agent_does_every_task(crews_dir: Path) -> None:
    _project(crews_dir, agents={"solo": TWO_AGENTS["writer"]})
    spec = load_crew("proj", crews_dir)
    assert {t.agent for t in spec.tasks.values()} == {"solo"}
    assert spec.assigned["writing_task"] == "assigned by rule: the crew's only agent"


def test_crew_yaml_assign_overrides_the_rule(crews_dir: Path) -> None:
    _project(crews_dir, crew={"assign": {"research_task": "writer"}})
    spec = load_crew("proj", crews_dir)
    assert spec.tasks["research_task"].agent == "writer"
    assert spec.assigned["research_task"] == "crew.yaml assign: research_task: writer"


def test_a_task_the_rule_cannot_assign_is_named_with_the_fix(crews_dir: Path) -> None:
    tasks = {"summary": {"description": "Sum up {topic}.", "expected_output": "Text."}}
    _project(crews_dir, tasks=tasks)
    with pytest.raises(ConfigError, match="task 'summary' has no agent") as info:
        load_crew("proj", crews_dir)
    assert info.value.line == 1 and str(info.value.file).endswith("config/tasks.yaml")
    assert "assign: {summary: <agent>}" in (info.value.hint or "")


def test_assign_naming_an_unknown_agent_points_at_crew_yaml(crews_dir: Path) -> None:
    _project(crews_dir, crew={"assign": {"research_task": "writr"}})
    with pytest.raises(ConfigError, match="'writr', which is not an agent") as info:
        load_crew("proj", crews_dir)
    assert info.value.hint == "did you mean 'writer'?"


def test_crewai_keys_are_accepted_and_reported_with_file_and_line(crews_dir: Path) -> None:
    agents = {
        "researcher": {**TWO_AGENTS["researcher"], "memory": True, "knowledge_sources": ["a"]},
        "writer": TWO_AGENTS["writer"],
    }
    tasks = {
        "research_task": {**TASKS["research_task"], "callback": "done"},
        "writing_task": {**TASKS["writing_task"], "output_pydantic": "Report"},
    }
    hooks = "import pydantic\n\nclass Report(pydantic.BaseModel):\n    title: str\n"
    _project(crews_dir, agents=agents, tasks=tasks, hooks=hooks)
    spec = load_crew("proj", crews_dir)
    assert spec.tasks["writing_task"].output_pydantic == "Report"
    text = "\n".join(spec.warnings)
    assert "config/agents.yaml:6: agent 'researcher': memory is not supported" in text
    assert "knowledge_sources is not supported (CrewAI knowledge" in text
    assert "config/tasks.yaml:4: task 'research_task': callback is not supported" in text
    assert "output_pydantic" not in text  # honoured on CrewAI


def test_output_pydantic_must_name_a_model_in_hooks(crews_dir: Path) -> None:
    tasks = {**TASKS, "writing_task": {**TASKS["writing_task"], "output_json": "Reprot"}}
    hooks = "import pydantic\n\nclass Report(pydantic.BaseModel):\n    title: str\n"
    _project(crews_dir, tasks=tasks, hooks=hooks)
    with pytest.raises(ConfigError, match="no pydantic model named 'Reprot'") as info:
        load_crew("proj", crews_dir)
    assert info.value.key == "writing_task.output_json"
    assert info.value.hint == "did you mean 'Report'?"


def test_double_braces_ask_for_no_input(crews_dir: Path) -> None:
    tasks = {"research_task": {"description": "Say {{topic}} literally.", "expected_output": "x"}}
    _project(crews_dir, tasks=tasks, agents={"solo": TWO_AGENTS["writer"]})
    assert list(load_crew("proj", crews_dir).inputs) == ["topic"]  # from the agent's goal


def test_bare_model_names_crewai_accepts_resolve_through_litellm(
    crews_dir: Path, settings: Settings
) -> None:
    from crewyard.gateway.config import ModelTable
    from crewyard.plan import plan

    agents = {
        "researcher": {**TWO_AGENTS["researcher"], "llm": "gpt-4o-mini"},
        "writer": {**TWO_AGENTS["writer"], "llm": "anthropic/claude-3-5-haiku-latest"},
    }
    _project(crews_dir, agents=agents)
    spec = load_crew("proj", crews_dir)
    the_plan = plan(spec, ModelTable.load(settings.models_file))
    assert the_plan.models["gpt-4o-mini"] == "gpt-4o-mini"
    assert the_plan.agents == {
        "researcher": "gpt-4o-mini",
        "writer": "anthropic/claude-3-5-haiku-latest",
    }


def test_a_model_name_close_to_an_alias_is_a_typo_pointed_at_agents_yaml(
    crews_dir: Path, settings: Settings
) -> None:
    from crewyard.gateway.config import ModelTable
    from crewyard.plan import plan

    agents = {
        "researcher": {**TWO_AGENTS["researcher"], "llm": "smrt"},
        "writer": TWO_AGENTS["writer"],
    }
    _project(crews_dir, agents=agents)
    spec = load_crew("proj", crews_dir)
    with pytest.raises(ConfigError, match="agent 'researcher': unknown model alias 'smrt'") as info:
        plan(spec, ModelTable.load(settings.models_file))
    assert str(info.value.file).endswith("config/agents.yaml") and info.value.line == 6
    assert info.value.key == "researcher.llm"


@pytest.mark.parametrize(
    ("llm", "message"),
    [
        ("gpt-4o-mini", r"needs the API key in \$OPENAI_API_KEY"),
        ("gtp-4o-mini", "LiteLLM knows no provider for this model name"),
    ],
)
def test_a_bare_model_without_key_or_provider_points_at_agents_yaml(
    crews_dir: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch, llm: str, message: str
) -> None:
    from crewyard.dispatcher import Dispatcher

    monkeypatch.setenv("OPENAI_API_KEY", "")
    monkeypatch.delenv("OPENAI_API_KEY")
    agents = {
        "researcher": {**TWO_AGENTS["researcher"], "llm": llm},
        "writer": TWO_AGENTS["writer"],
    }
    _project(crews_dir, agents=agents, crew={"memory": {"enabled": False}})
    spec = load_crew("proj", crews_dir)
    with pytest.raises(ConfigError, match=message) as info:
        Dispatcher(settings).run(spec, {"topic": "x"})
    assert str(info.value.file).endswith("config/agents.yaml") and info.value.line == 6


def test_a_batch_column_the_crew_does_not_use_still_stops_the_batch(
    crews_dir: Path, tmp_path: Path
) -> None:
    from crewyard.durable.items import read_items
    from crewyard.errors import InputError

    _project(crews_dir)
    batch = tmp_path / "b.csv"
    batch.write_text("topic,year\nwind,2025\n")
    with pytest.raises(InputError, match="item 2: crew 'proj' has no input 'year'") as info:
        read_items(batch, load_crew("proj", crews_dir))
    assert info.value.line == 2


def test_a_schedule_input_the_crew_does_not_have_is_still_an_error(crews_dir: Path) -> None:
    schedule = {"cron": "0 6 * * *", "inputs": {"topic": "x", "topc": "y"}}
    _project(crews_dir, crew={"schedules": [schedule]})
    with pytest.raises(ConfigError, match="crew 'proj' has no input 'topc'") as info:
        load_crew("proj", crews_dir)
    assert info.value.key == "schedules.0.inputs.topc" and info.value.line == 5
