"""The plain CrewAI peer that benches run beside crewyard: a sequential crew built from a crew
folder's agents.yaml and tasks.yaml with CrewAI's own classes, no memory, no tracing. Peer
scripts import it in processes of their own (`peer_script` writes one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def crew_from_folder(crew_dir: str, llm: Any) -> Any:
    """The crew of crew_dir (its agents and tasks, in order, with their context) on llm."""
    import yaml
    from crewai import Agent, Crew, Process, Task

    agents_yaml = yaml.safe_load(Path(crew_dir, "agents.yaml").read_text())
    tasks_yaml = yaml.safe_load(Path(crew_dir, "tasks.yaml").read_text())
    agents = {
        name: Agent(
            role=a["role"],
            goal=a["goal"],
            backstory=a["backstory"],
            llm=llm,
            max_iter=a.get("max_iter", 25),
            memory=False,
        )
        for name, a in agents_yaml.items()
    }
    tasks: dict[str, Any] = {}
    for name, t in tasks_yaml.items():
        tasks[name] = Task(
            name=name,
            description=t["description"],
            expected_output=t["expected_output"],
            agent=agents[t["agent"]],
            markdown=t.get("markdown", False),
            context=[tasks[c] for c in t.get("context", [])],
        )
    return Crew(
        agents=list(agents.values()),
        tasks=list(tasks.values()),
        process=Process.sequential,
        memory=False,
        tracing=False,
    )


def peer_script(path: Path, body: str) -> Path:
    """body written to path as a script that can import this module."""
    path.write_text(f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n{body}")
    return path
