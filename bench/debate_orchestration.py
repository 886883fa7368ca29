"""Debate orchestration overhead: the debate crew on crewyard (dispatcher, AutoGen engine,
gateway, run store, memory) against the same debate written directly with autogen-agentchat
and autogen-ext's OpenAIChatCompletionClient — proposer and critic in a round-robin team for
the crew's rounds, then the judge reading the transcript — both against one tests/fakellm at
50 ms reply latency, alternating runs in one process. Target: crewyard ≤ 1.05× plain AutoGen's
wall time; its own added time per model call under 5 ms.

    .venv/bin/python bench/debate_orchestration.py [runs]
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this tree's crewyard, not the installed one
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_ext.models.openai import OpenAIChatCompletionClient

from crewyard.crews.loader import load_crew
from crewyard.crews.options import DebateOptions
from crewyard.dispatcher import Dispatcher
from crewyard.engines.prompts import agent_system_message, task_message
from crewyard.settings import Settings
from tests.fakellm import FakeLLM

LATENCY = 0.05
QUESTION = "Should cities ban cars from their centres?"
SAID = ["Yes: cleaner air.", "But deliveries suffer.", "Use cargo bikes.", "Costly for shops."]
VERDICT = "The proposer wins: air quality outweighs delivery costs."
MODEL_INFO = {
    "vision": False,
    "function_calling": True,
    "json_output": True,
    "structured_output": True,
    "family": "unknown",
    "multiple_system_messages": True,
}


async def plain_autogen(url: str) -> str:
    """The debate crew's agents, rounds and judge, written by hand for AutoGen."""
    spec = load_crew("debate", ROOT / "crews")
    opts = DebateOptions.model_validate(spec.engine_options)
    client = OpenAIChatCompletionClient(
        model="fake-model",
        base_url=url,
        api_key="bench-key",
        temperature=0.2,
        model_info=MODEL_INFO,  # type: ignore[arg-type]
    )

    def agent(name: str) -> AssistantAgent:
        a = spec.agents[name]
        return AssistantAgent(
            name, client, description=a.role, system_message=agent_system_message(a)
        )

    debaters = [n for n in spec.agents if n != "judge"]
    task = next(iter(spec.tasks.values()))
    question = task_message(task, []).replace("{question}", QUESTION)
    team = RoundRobinGroupChat(
        [agent(d) for d in debaters],
        termination_condition=MaxMessageTermination(1 + opts.rounds * len(debaters)),
    )
    said = (await team.run(task=question, output_task_messages=False)).messages
    transcript = "\n\n".join(f"{m.source}: {m.to_text()}" for m in said)
    prompt = (
        f"{question}\n\nThe debate so far:\n\n{transcript}\n\n"
        "Give your verdict: which side is right, and your reasons."
    )
    reply = await agent("judge").run(task=prompt)
    await client.close()
    return reply.messages[-1].to_text()


def main(runs: int = 10) -> None:
    logging.getLogger("autogen_core").setLevel(logging.ERROR)
    with FakeLLM(latency=LATENCY) as fake, tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models.yaml"
        alias = {"model": "openai/fake-model", "api_base": fake.url, "api_key_env": "BENCH_KEY"}
        models.write_text(
            json.dumps({"aliases": {"fast": {**alias, "num_retries": 0, "temperature": 0.2}}})
        )
        os.environ["BENCH_KEY"] = "bench-key"
        settings = Settings(data_dir=Path(tmp) / "data", models_file=models)
        dispatcher = Dispatcher(settings)
        spec = load_crew("debate", ROOT / "crews")
        calls = len(SAID) + 1
        ours: list[float] = []
        theirs: list[float] = []
        for i in range(runs + 1):  # the first round warms both up and is not counted
            first_ours = i % 2 == 0  # alternate which side goes first
            for side in ("ours", "theirs") if first_ours else ("theirs", "ours"):
                fake.add(*SAID, VERDICT)
                started = time.perf_counter()
                if side == "ours":
                    result = dispatcher.run(spec, {"question": QUESTION})
                    assert VERDICT in result.output, result.output
                else:
                    assert asyncio.run(plain_autogen(fake.url)) == VERDICT
                elapsed = time.perf_counter() - started
                if i:
                    (ours if side == "ours" else theirs).append(elapsed)
        assert fake.unused == 0 and not fake.violations, (fake.unused, fake.violations)
    o, t = statistics.median(ours), statistics.median(theirs)
    print(
        f"debate orchestration, debate crew ({calls} model calls), fakellm at "
        f"{LATENCY * 1000:.0f} ms, median of {runs} runs, alternating "
        "(target: ≤ 1.05× plain AutoGen, < 5 ms added per model call)"
    )
    print(f"  plain AutoGen  {t * 1000:7.1f} ms/run")
    print(f"  crewyard       {o * 1000:7.1f} ms/run   {o / t:5.2f}× plain AutoGen")
    print(
        f"  added per model call: {(o - t) / calls * 1000:+.1f} ms (run store, turns, events, "
        "memory recall and logs included)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
