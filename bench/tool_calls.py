"""Tool-call parse success of the embedded model (SmolLM2-135M) on scripted tool tasks, with
and without the JSON-schema step (crewyard/tools/react.py, decoded by llama.cpp's grammar):
each task is a CrewAI-style ReAct prompt with 1-3 tools and a question; a reply counts when
CrewAI's own parser reads it as a call of one of the offered tools with arguments its schema
accepts, or as a final answer. Target: ≥ 99% with the grammar.

    .venv/bin/python bench/tool_calls.py [tasks=100]

Measured (2 shared cores, 100 tasks): plain 4/100 parse (4.0%), 3007 ms/call; grammar
100/100 (100.0%), 3034 ms/call.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("CREWAI_DISABLE_TELEMETRY", "true")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's crewyard

from crewai.agents.parser import AgentAction, AgentFinish, OutputParserError, parse
from pydantic import ValidationError

from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.tools import react
from crewyard.tools.builtin import calculator
from crewyard.tools.spec import Tool, function_tool

MODELS_YAML = """
aliases:
  bench: {model: local/smollm2, temperature: 0.7, max_tokens: 96}
local: {n_ctx: 2048, seed: 0}
"""


def read_file(path: str) -> str:
    """Read a text file of the workspace, e.g. docs/intro.md."""
    return ""


def web_fetch(url: str) -> str:
    """Fetch a web page (http or https) and answer its text."""
    return ""


def search_files(query: str, path: str = ".") -> str:
    """Find the lines containing query in the workspace files."""
    return ""


TOOLS: list[Tool] = [calculator, *(function_tool(f) for f in (read_file, web_fetch, search_files))]
QUESTIONS = [
    ("calculator", "What is {a} * {b}?"),
    ("calculator", "Add {a} and {b}, then divide by 2."),
    ("read_file", "What does the file docs/part{a}.md say?"),
    ("read_file", "Summarise notes/day{b}.txt."),
    ("web_fetch", "What is on the page http://example.org/item/{a}?"),
    ("search_files", "Which files mention tide number {b}?"),
]


def prompt(tools: list[Tool], question: str) -> list[dict[str, str]]:
    described = "\n".join(
        f"Tool Name: {t.name}\nTool Arguments: {json.dumps(t.args.model_json_schema())}"
        f"\nTool Description: {t.description}"
        for t in tools
    )
    system = (
        "You are Helper. You answer questions using tools.\n"
        f"You ONLY have access to the following tools:\n\n{described}\n\n"
        "Use the following format:\n\nThought: you should always think about what to do\n"
        f"Action: the action to take, only one name of [{', '.join(t.name for t in tools)}]\n"
        "Action Input: the input to the action, just a simple JSON object\n\n"
        "Once all necessary information is gathered:\n\n"
        "Thought: I now know the final answer\nFinal Answer: the final answer"
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def tasks(count: int) -> list[tuple[list[Tool], str]]:
    out = []
    for i in range(count):
        wanted, text = QUESTIONS[i % len(QUESTIONS)]
        need = next(t for t in TOOLS if t.name == wanted)
        others = [t for t in TOOLS if t is not need][: i % 3]
        out.append(([need, *others], text.format(a=i + 3, b=2 * i + 7)))
    return out


def parses(reply: str, tools: list[Tool]) -> bool:
    """CrewAI reads it as a call of an offered tool with valid arguments, or an answer."""
    try:
        step = parse(reply)
    except OutputParserError:
        return False
    if isinstance(step, AgentFinish):
        return True
    assert isinstance(step, AgentAction)
    tool = next((t for t in tools if t.name == step.tool), None)
    if tool is None:
        return False
    try:
        tool.args.model_validate(json.loads(step.tool_input))
    except (json.JSONDecodeError, ValidationError, TypeError):
        return False
    return True


def main(count: int = 100) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "models.yaml"
        path.write_text(MODELS_YAML)
        gateway = Gateway(ModelTable.load(path))
        results: dict[str, list[bool]] = {"plain": [], "grammar": []}
        seconds: dict[str, float] = {"plain": 0.0, "grammar": 0.0}
        for tools, question in tasks(count):
            messages = prompt(tools, question)
            stop = ["\nObservation:"]
            for mode in ("plain", "grammar"):
                options: dict[str, Any] = {"stop": stop}
                if mode == "grammar":
                    shapes = [(t.name, t.args.model_json_schema()) for t in tools]
                    options["response_format"] = react.response_format(shapes)
                started = time.perf_counter()
                reply = gateway.complete("bench", messages, **options).text
                seconds[mode] += time.perf_counter() - started
                text = react.as_text(reply) if mode == "grammar" else reply
                results[mode].append(parses(text, tools))
                if not results[mode][-1] and os.environ.get("BENCH_SHOW_FAILURES"):
                    print(f"--- {mode} failed on {question!r}:\n{reply[:300]}")
        for mode, got in results.items():
            rate = 100 * sum(got) / len(got)
            print(
                f"{mode:8} {sum(got):3}/{len(got)} parse ({rate:5.1f}%), "
                f"{1000 * seconds[mode] / len(got):6.0f} ms/call"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
