"""python main.py new NAME [--process P]: a crew folder that passes --dry-run and runs at once
on the embedded model (what `crewai create crew` does for a CrewAI project)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from crewyard.cli.output import program_name
from crewyard.cli.schema import SCHEMAS_FOLDER, modeline, write_schemas
from crewyard.errors import ConfigError, ExitCode

RESEARCH_AGENTS = """\
researcher:
  role: >
    {topic} Senior Data Researcher
  goal: >
    Uncover the key facts about {topic}
  backstory: >
    You're a seasoned researcher who lists plain, checkable facts about {topic}
    and names what is uncertain.
  max_iter: 3

reporting_analyst:
  role: >
    {topic} Reporting Analyst
  goal: >
    Write a short, clear report about {topic} from the research findings
  backstory: >
    You turn research notes into a readable Markdown report with a title and short sections.
  max_iter: 3
"""

RESEARCH_TASKS = """\
research_task:
  description: >
    List the five most important facts about {topic}. One fact per bullet point.
  expected_output: >
    Five bullet points, one fact each.{agent_researcher}

reporting_task:
  description: >
    Review the research you got and write a short report about {topic}.
  expected_output: >
    A Markdown report: a title, a one-paragraph summary, a list of key points.{agent_analyst}
  output_file: report.md
"""

DEBATE_AGENTS = """\
proposer:
  role: Proposer
  goal: Argue for the strongest answer to the question
  backstory: >
    You make a clear case in a few sentences and answer the critic's objections directly.

critic:
  role: Critic
  goal: Find the weakest points in the proposer's case
  backstory: >
    You are a fair but demanding critic. You name one concrete flaw per turn, briefly.

judge:
  role: Judge
  goal: Decide who argued better and why
  backstory: >
    You weigh both sides and give a short verdict with two or three reasons.
"""

DEBATE_TASKS = """\
debate_task:
  description: "Debate this question: {question}"
  expected_output: A verdict naming the stronger side, with two or three reasons.
  output_file: verdict.md
"""

CODING_AGENTS = """\
coder:
  role: Python coder
  goal: Write a correct, small Python program
  backstory: >
    You write plain Python 3 with no third-party packages and define a function solve().
"""

CODING_TASKS = """\
coding_task:
  description: "Write a Python program for this: {spec}"
  expected_output: One complete Python program in a single python code block.
  output_file: solution.py
"""

# process → (description, inputs, engine_options lines, agents.yaml, tasks.yaml)
TEMPLATES: dict[str, tuple[str, dict[str, str], str, str, str]] = {
    "sequential": (
        "Research a topic and write a short report",
        {"topic": "AI LLMs"},
        "",
        RESEARCH_AGENTS,
        RESEARCH_TASKS.format(
            topic="{topic}",
            agent_researcher="\n  agent: researcher",
            agent_analyst="\n  agent: reporting_analyst",
        ),
    ),
    "hierarchical": (
        "A manager has a researcher and an analyst research a topic and report on it",
        {"topic": "AI LLMs"},
        "engine_options:\n  max_delegations: 4\n",
        RESEARCH_AGENTS.replace("  max_iter: 3\n", "  max_iter: 3\n  allow_delegation: false\n"),
        RESEARCH_TASKS.format(topic="{topic}", agent_researcher="", agent_analyst=""),
    ),
    "debate": (
        "A proposer and a critic argue a question; a judge decides",
        {"question": "Should every team write tests first?"},
        "engine_options:\n  rounds: 1\n  judge: judge\n",
        DEBATE_AGENTS,
        DEBATE_TASKS,
    ),
    "coding": (
        "A coder writes Python and a sandboxed executor runs it until the tests pass",
        {"spec": "solve() returns the sum of the numbers 1 to 10"},
        "engine_options:\n  coder: coder\n  max_rounds: 2\n  tests: |\n"
        '    assert callable(solve), "define solve()"\n',
        CODING_AGENTS,
        CODING_TASKS,
    ),
}


def _crew_yaml(name: str, process: str) -> str:
    description, inputs, options, _, _ = TEMPLATES[process]
    lines = [
        f"name: {name}",
        f"description: {description}",
        f"process: {process}",
        "inputs:",
    ]
    for key, default in inputs.items():
        value = json.dumps(default, ensure_ascii=False)
        lines.append(f"  {key}: {{type: str, default: {value}, description: The {key}}}")
    lines.append("models: {default: standard}   # an alias of models.yaml, or e.g. gpt-4o-mini")
    return "\n".join(lines) + "\n" + options


def scaffold(crews_dir: Path, name: str, process: str) -> Path:
    """Write crews_dir/name/{crew,agents,tasks}.yaml, each led by the line that gives editors
    its schema, and the schemas it names (crews_dir/.schemas/, refreshed); refuses a bad name
    or an existing folder."""
    from crewyard.crews.checks import name_problem

    problem = name_problem(name)
    if problem is not None or not name.isidentifier():
        why = problem or "is not a plain name of letters, digits and _"
        raise ConfigError(
            f"{name!r} is not a crew name: it {why}",
            key="NAME",
            hint="use letters, digits and _, such as market_research",
        )
    if process not in TEMPLATES:
        raise ConfigError(
            f"no template for process {process!r}", hint=f"one of: {', '.join(TEMPLATES)}"
        )
    folder = crews_dir / name
    if folder.exists() or folder.is_symlink():
        raise ConfigError(
            f"{folder} exists already; new never overwrites a crew",
            hint=f"pick another name, or edit {folder} (see {program_name()} --crew {name} "
            "--dry-run)",
        )
    _, _, _, agents, tasks = TEMPLATES[process]
    folder.mkdir(parents=True)
    texts = {"crew": _crew_yaml(name, process), "agents": agents, "tasks": tasks}
    for kind, text in texts.items():
        (folder / f"{kind}.yaml").write_text(modeline(kind) + text, encoding="utf-8")
    write_schemas(crews_dir / SCHEMAS_FOLDER)
    return folder


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=f"{program_name()} new",
        description="Create a crew folder (crew.yaml, agents.yaml, tasks.yaml) that runs as it is",
    )
    p.add_argument("name", metavar="NAME", help="the crew's name, e.g. market_research")
    p.add_argument(
        "--process", default="sequential", choices=list(TEMPLATES), help="how the crew works"
    )
    return p


def run(argv: list[str]) -> int:
    """python main.py new NAME [--process P]."""
    args = parser().parse_args(argv)
    from crewyard.settings import Settings

    crews_dir = Settings.for_command_line().crews_dir
    folder = scaffold(crews_dir, args.name, args.process)
    print(f"created {folder}: crew.yaml agents.yaml tasks.yaml ({args.process})")
    print(f"schemas for editors: {crews_dir / SCHEMAS_FOLDER} (named on each file's first line)")
    print(f"see the plan:  {program_name()} --crew {args.name} --dry-run")
    print(f"run it:        {program_name()} --crew {args.name}")
    return ExitCode.OK
