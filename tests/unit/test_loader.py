"""Crew files → CrewSpec, and every kind of bad crew file → one clear ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from crewyard.crews import CREWS_DIR
from crewyard.crews.loader import discover, load_crew
from crewyard.errors import ConfigError
from tests.conftest import TOPIC_INPUT, TWO_AGENTS, TWO_TASKS, MakeCrew


def error_of(crews_dir: Path, name: str = "demo") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_crew(name, crews_dir)
    return info.value


def test_research_crew_loads_with_agents_tasks_and_inputs() -> None:
    spec = load_crew("research", CREWS_DIR)
    assert spec.process == "sequential"
    assert list(spec.agents) == ["researcher", "writer"]
    assert list(spec.tasks) == ["research_topic", "write_report"]
    assert spec.inputs["topic"].is_required
    assert spec.tasks["write_report"].output_file == "report.md"
    assert "research" in discover(CREWS_DIR)


def test_crewai_keys_are_accepted_unchanged(make_crew: MakeCrew, crews_dir: Path) -> None:
    agents = {
        "a": {
            **TWO_AGENTS["researcher"],
            "allow_delegation": False,
            "max_iter": 4,
            "verbose": True,
            "llm": "fast",
            "max_rpm": 10,
            "cache": True,
        }
    }
    tasks = {
        "t": {
            "description": "Do {topic}",
            "expected_output": "x",
            "agent": "a",
            "async_execution": False,
            "human_input": False,
            "markdown": True,
            "output_file": "out/{topic}.md",
            "create_directory": True,
        }
    }
    make_crew(agents=agents, tasks=tasks)
    spec = load_crew("demo", crews_dir)
    assert spec.agents["a"].max_iter == 4
    assert spec.agent_model("a") == "fast"
    assert spec.inputs["topic"].type == "str"  # inferred: no inputs section


def test_unknown_crew_suggests_the_close_name(two_step_crew: Path, crews_dir: Path) -> None:
    err = error_of(crews_dir, "dmeo")
    assert "no crew named 'dmeo'" in err.message
    assert err.hint == "did you mean 'demo'?"


def test_malformed_yaml_names_file_and_line(make_crew: MakeCrew, crews_dir: Path) -> None:
    make_crew(agents=TWO_AGENTS, tasks="research:\n  description: [unclosed\n  agent: x\n")
    err = error_of(crews_dir)
    assert err.file is not None and err.file.endswith("tasks.yaml")
    assert err.line == 3
    assert "malformed YAML" in err.message


def test_unknown_key_in_crew_yaml(make_crew: MakeCrew, crews_dir: Path) -> None:
    make_crew(
        crew="name: demo\ndescription: x\nproces: sequential\n", agents=TWO_AGENTS, tasks=TWO_TASKS
    )
    err = error_of(crews_dir)
    assert err.file is not None and err.file.endswith("crew.yaml")
    assert (err.line, err.key) == (3, "proces")
    assert err.hint == "did you mean 'process'?"


def test_unknown_key_in_agents_yaml(make_crew: MakeCrew, crews_dir: Path) -> None:
    agents = {**TWO_AGENTS, "writer": {**TWO_AGENTS["writer"], "backstroy": "oops"}}
    make_crew(agents=agents, tasks=TWO_TASKS)
    err = error_of(crews_dir)
    assert err.file is not None and err.file.endswith("agents.yaml")
    assert err.key == "writer.backstroy"
    assert err.line is not None and err.line > 5
    assert "backstory" in (err.hint or "")


def test_unknown_key_in_tasks_yaml(make_crew: MakeCrew, crews_dir: Path) -> None:
    tasks = {**TWO_TASKS, "write": {**TWO_TASKS["write"], "expected_outptu": "x"}}
    make_crew(agents=TWO_AGENTS, tasks=tasks)
    err = error_of(crews_dir)
    assert err.key == "write.expected_outptu"
    assert "expected_output" in (err.hint or "")


def test_missing_required_key(make_crew: MakeCrew, crews_dir: Path) -> None:
    agents = {"researcher": {"role": "R", "goal": "G"}, "writer": TWO_AGENTS["writer"]}
    make_crew(agents=agents, tasks=TWO_TASKS)
    err = error_of(crews_dir)
    assert "missing required key 'backstory'" in err.message
    assert err.line == 1


def test_task_names_an_agent_that_does_not_exist(make_crew: MakeCrew, crews_dir: Path) -> None:
    tasks = {**TWO_TASKS, "write": {**TWO_TASKS["write"], "agent": "writr"}}
    make_crew(agents=TWO_AGENTS, tasks=tasks)
    err = error_of(crews_dir)
    assert "agent 'writr' is not in this crew" in err.message
    assert err.key == "write.agent"
    assert err.hint == "did you mean 'writer'?"


def test_crew_names_a_task_that_does_not_exist(make_crew: MakeCrew, crews_dir: Path) -> None:
    make_crew(crew={"tasks": ["research", "wirte"]}, agents=TWO_AGENTS, tasks=TWO_TASKS)
    err = error_of(crews_dir)
    assert "no task named 'wirte'" in err.message
    assert err.file is not None and err.file.endswith("crew.yaml")
    assert err.hint == "did you mean 'write'?"


def test_context_cycle(make_crew: MakeCrew, crews_dir: Path) -> None:
    tasks = {
        "research": {**TWO_TASKS["research"], "context": ["write"]},
        "write": TWO_TASKS["write"],
    }
    make_crew(agents=TWO_AGENTS, tasks=tasks)
    err = error_of(crews_dir)
    assert "context cycle: research → write → research" in err.message


def test_context_forward_reference(make_crew: MakeCrew, crews_dir: Path) -> None:
    tasks = {
        "research": {**TWO_TASKS["research"], "context": ["write"]},
        "write": {**TWO_TASKS["write"], "context": None},
    }
    make_crew(agents=TWO_AGENTS, tasks=tasks)
    err = error_of(crews_dir)
    assert "runs after 'research'" in err.message


def test_context_names_unknown_task(make_crew: MakeCrew, crews_dir: Path) -> None:
    tasks = {**TWO_TASKS, "write": {**TWO_TASKS["write"], "context": ["reserch"]}}
    make_crew(agents=TWO_AGENTS, tasks=tasks)
    err = error_of(crews_dir)
    assert err.key == "write.context"
    assert err.hint == "did you mean 'research'?"


def test_placeholder_with_no_input(make_crew: MakeCrew, crews_dir: Path) -> None:
    tasks = {**TWO_TASKS, "write": {**TWO_TASKS["write"], "description": "For {audience}"}}
    make_crew(crew={"inputs": TOPIC_INPUT}, agents=TWO_AGENTS, tasks=tasks)
    err = error_of(crews_dir)
    assert "placeholder {audience} has no input" in err.message
    assert err.key == "write.description"
    assert err.file is not None and err.file.endswith("tasks.yaml")


def test_library_agents_and_extends(make_crew: MakeCrew, crews_dir: Path) -> None:
    agents = {"critic": {"extends": "researcher", "role": "Critic"}}
    tasks = {
        "t": {"description": "Check {topic}", "expected_output": "x", "agent": "critic"},
        "u": {"description": "Write", "expected_output": "y", "agent": "writer"},
    }
    make_crew(crew={"agents": ["critic", "writer"]}, agents=agents, tasks=tasks)
    spec = load_crew("demo", crews_dir)
    assert spec.agents["critic"].role == "Critic"
    assert spec.agents["critic"].goal.startswith("Find")  # from agents/library/researcher.yaml
    assert spec.agents["writer"].role  # straight from the library


def test_library_reference_that_does_not_exist(make_crew: MakeCrew, crews_dir: Path) -> None:
    make_crew(crew={"agents": ["researcher", "nobody"]}, agents=TWO_AGENTS, tasks=TWO_TASKS)
    err = error_of(crews_dir)
    assert "no agent named 'nobody'" in err.message
    assert err.key == "agents.1"


def test_unknown_tool_is_an_error_not_a_silent_no_op(make_crew: MakeCrew, crews_dir: Path) -> None:
    agents = {**TWO_AGENTS, "writer": {**TWO_AGENTS["writer"], "tools": ["web_search"]}}
    make_crew(agents=agents, tasks=TWO_TASKS)
    err = error_of(crews_dir)
    assert "unknown tool 'web_search'" in err.message
    assert err.key == "writer.tools.0"


@pytest.mark.parametrize(
    ("agents_extra", "options", "process", "why"),
    [
        ({}, {}, "sequential", "no manager"),
        (
            {"writer": {**TWO_AGENTS["writer"], "allow_delegation": True}},
            {},
            "hierarchical",
            "'writer' may delegate",
        ),
        (
            {
                "judge": {"role": "Judge", "goal": "g", "backstory": "b"},
                "critic": {"role": "Critic", "goal": "g", "backstory": "b"},
            },
            {},
            "debate",
            "debate",
        ),
        ({}, {"tests": "assert True"}, "coding", "code execution declared"),
    ],
)
def test_auto_chooses_the_process_from_the_shape(
    make_crew: MakeCrew,
    crews_dir: Path,
    agents_extra: dict,
    options: dict,
    process: str,
    why: str,
) -> None:
    make_crew(
        crew={"process": "auto", "engine_options": options},
        agents={**TWO_AGENTS, **agents_extra},
        tasks=TWO_TASKS,
    )
    spec = load_crew("demo", crews_dir)
    assert spec.process == process
    assert spec.process_reason.startswith("auto: ") and why in spec.process_reason


def test_unknown_engine_option_is_rejected_for_that_process(
    make_crew: MakeCrew, crews_dir: Path
) -> None:
    make_crew(
        crew={"process": "debate", "engine_options": {"round": 3}},
        agents=TWO_AGENTS,
        tasks=TWO_TASKS,
    )
    err = error_of(crews_dir)
    assert err.key == "engine_options.round"
    assert err.hint == "did you mean 'rounds'?"
    assert err.line == 3


@pytest.mark.parametrize("process", ["debate", "coding", "sequential", "hierarchical"])
def test_output_file_outside_the_run_folder_is_refused_at_load_on_every_engine(
    process: str, make_crew: MakeCrew, crews_dir: Path
) -> None:
    make_crew(
        "escaping",
        crew={"process": process, "models": {"manager": "standard"}},
        agents={
            "proposer": {"role": "Proposer", "goal": "g", "backstory": "b"},
            "judge": {"role": "Judge", "goal": "g", "backstory": "b"},
        },
        tasks="verdict:\n  description: d\n  expected_output: e\n  agent: judge\n"
        "  output_file: ../escape.md\n",
    )
    with pytest.raises(ConfigError) as info:
        load_crew("escaping", crews_dir)
    assert (info.value.file or "").endswith("escaping/tasks.yaml")
    assert (info.value.line, info.value.key) == (5, "verdict.output_file")
    assert "climbs out of the outputs folder" in str(info.value)
