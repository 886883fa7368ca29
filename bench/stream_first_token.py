"""Time to the first streamed token: crewyard's gateway streaming the embedded model to a
run's chunk listener, against llama-cpp-python's own create_chat_completion(stream=True) on
the same model file and settings, alternating, in one run. Each round asks a new prompt (both
sides the same one), so neither answers from a cached prompt. Target: gateway ≤ 1.1× direct.

    .venv/bin/python bench/stream_first_token.py [rounds]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's crewyard

from llama_cpp import Llama

from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.gateway.providers.local import default_model_path
from crewyard.gateway.records import Chunk

MAX_TOKENS = 48
SYSTEM = (
    "You are Researcher. Your goal: find facts about the topic. You are a careful analyst who "
    "checks every claim and writes short, plain bullet points."
)
TOPICS = ["tidal power", "solar storage", "wind farms", "heat pumps", "geothermal wells"]
MODELS_YAML = f"""
aliases:
  bench: {{model: local/smollm2, temperature: 0.0, max_tokens: {MAX_TOKENS}}}
local: {{n_ctx: 2048, seed: 0, repeat_penalty: 1.15}}
"""


def messages(round_no: int) -> list[dict[str, Any]]:
    topic = TOPICS[round_no % len(TOPICS)]
    ask = f"Round {round_no}: list three facts about {topic}, one per line."
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": ask}]


def ours(gateway: Gateway, prompt: list[dict[str, Any]]) -> tuple[float, float, str]:
    """(seconds to the first chunk, to the whole reply, its text) through a run's gateway."""
    first: list[float] = []

    def on_chunk(chunk: Chunk) -> None:
        if not first and chunk.text:
            first.append(time.perf_counter())

    started = time.perf_counter()
    reply = gateway.for_run(on_chunk=on_chunk).complete("bench", prompt, agent="researcher")
    return first[0] - started, time.perf_counter() - started, reply.text


def theirs(llama: Llama, prompt: list[dict[str, Any]]) -> tuple[float, float, str]:
    """The same, with llama-cpp-python's own stream."""
    first = 0.0
    parts: list[str] = []
    started = time.perf_counter()
    stream: Any = llama.create_chat_completion(
        messages=prompt,  # type: ignore[arg-type]
        max_tokens=MAX_TOKENS,
        temperature=0.0,
        seed=0,
        repeat_penalty=1.15,
        stream=True,
    )
    for chunk in stream:
        if text := chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter()
            parts.append(text)
    return first - started, time.perf_counter() - started, "".join(parts)


def main(rounds: int = 7) -> None:
    threads = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "models.yaml"
        path.write_text(MODELS_YAML)
        gateway = Gateway(ModelTable.load(path, env={}))
    direct = Llama(
        model_path=str(default_model_path()),
        n_ctx=2048,
        n_threads=threads,
        n_threads_batch=threads,
        seed=0,
        verbose=False,
    )
    ours(gateway, messages(-1))  # load and warm both before timing
    theirs(direct, messages(-1))
    rows: dict[str, list[tuple[float, float, str]]] = {"ours": [], "theirs": []}
    for n in range(rounds):  # alternate which side goes first
        prompt = messages(n)
        order = [("ours", ours, gateway), ("theirs", theirs, direct)]
        for name, fn, target in order if n % 2 == 0 else order[::-1]:
            rows[name].append(fn(target, prompt))  # type: ignore[operator]
    first_o = statistics.median(r[0] for r in rows["ours"]) * 1000
    first_t = statistics.median(r[0] for r in rows["theirs"]) * 1000
    whole_o = statistics.median(r[1] for r in rows["ours"]) * 1000
    whole_t = statistics.median(r[1] for r in rows["theirs"]) * 1000
    alike = sum(o[2] == t[2] for o, t in zip(rows["ours"], rows["theirs"], strict=True))
    print(
        f"time to the first streamed token, median of {rounds} rounds, a new prompt each "
        f"(up to {MAX_TOKENS} tokens; target: gateway ≤ 1.1× direct)"
    )
    print(f"  llama-cpp-python stream=True  first {first_t:7.1f} ms   whole {whole_t:7.1f} ms")
    print(
        f"  crewyard gateway --stream     first {first_o:7.1f} ms   whole {whole_o:7.1f} ms   "
        f"{first_o / first_t:5.2f}× direct (first), {whole_o / whole_t:5.2f}× (whole)"
    )
    print(f"  the same reply text on both sides in {alike} of {rounds} rounds")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
