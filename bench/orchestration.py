"""Orchestration overhead: the research crew on crewyard against the same agents and tasks built
directly with CrewAI, both against tests/fakellm with a fixed 50 ms reply latency, alternating
runs in one process. Target: crewyard ≤ 1.05× plain CrewAI's wall time; its own added time
per model call under 5 ms.

    .venv/bin/python bench/orchestration.py [runs]
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
for flag, value in {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}.items():
    os.environ.setdefault(flag, value)

from crewai import LLM, Agent, Crew, Process, Task

from crewyard.crews.loader import load_crew
from crewyard.dispatcher import Dispatcher
from crewyard.settings import Settings
from tests.fakellm import FakeLLM

LATENCY = 0.05
TOPIC = "home solar batteries"
REPLIES = ["Final Answer: - fact one\n- fact two", "# Report\nA short report."]


def plain_crewai(url: str) -> None:
    """The research crew's agents and tasks, written by hand for CrewAI."""
    spec = load_crew("research", ROOT / "crews")
    llm = LLM(model="openai/fake-model", base_url=url, api_key="bench-key", temperature=0.2)
    agents = {
        n: Agent(
            role=a.role,
            goal=a.goal,
            backstory=a.backstory,
            llm=llm,
            max_iter=a.max_iter,
            memory=False,
        )
        for n, a in spec.agents.items()
    }
    tasks: dict[str, Task] = {}
    for name, t in spec.tasks.items():
        tasks[name] = Task(
            name=name,
            description=t.description,
            expected_output=t.expected_output,
            agent=agents[t.agent or ""],
            markdown=t.markdown,
            context=[tasks[c] for c in t.context or ()],
        )
    Crew(
        agents=list(agents.values()),
        tasks=list(tasks.values()),
        process=Process.sequential,
        memory=False,
        tracing=False,
    ).kickoff(inputs={"topic": TOPIC})


def main(runs: int = 10) -> None:
    logging.getLogger("crewai").setLevel(logging.ERROR)  # its token-estimate warning
    with FakeLLM(latency=LATENCY) as fake, tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models.yaml"
        models.write_text(
            json.dumps(
                {
                    "aliases": {
                        "standard": {
                            "model": "openai/fake-model",
                            "api_base": fake.url,
                            "api_key_env": "BENCH_KEY",
                            "num_retries": 0,
                            "temperature": 0.2,
                        }
                    }
                }
            )
        )
        os.environ["BENCH_KEY"] = "bench-key"
        settings = Settings(data_dir=Path(tmp) / "data", models_file=models)
        dispatcher = Dispatcher(settings)
        spec = load_crew("research", ROOT / "crews")
        ours: list[float] = []
        theirs: list[float] = []
        for i in range(runs + 1):  # the first round warms both up and is not counted
            fake.add(*REPLIES)
            started = time.perf_counter()
            dispatcher.run(spec, {"topic": TOPIC})
            elapsed_ours = time.perf_counter() - started
            fake.add(*REPLIES)
            started = time.perf_counter()
            plain_crewai(fake.url)
            elapsed_theirs = time.perf_counter() - started
            if i:
                ours.append(elapsed_ours)
                theirs.append(elapsed_theirs)
        calls = len(REPLIES)
    o, t = statistics.median(ours), statistics.median(theirs)
    print(
        f"orchestration, research crew, fakellm at {LATENCY * 1000:.0f} ms, median of {runs} "
        "runs (target: ≤ 1.05× plain CrewAI, < 5 ms added per model call)"
    )
    print(f"  plain CrewAI   {t * 1000:7.1f} ms/run")
    print(f"  crewyard       {o * 1000:7.1f} ms/run   {o / t:5.2f}× plain CrewAI")
    print(
        f"  added per model call: {(o - t) / calls * 1000:+.1f} ms ({calls} calls per run, "
        "run store, checkpoints, events and logs included)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
