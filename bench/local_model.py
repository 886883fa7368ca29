"""Embedded model throughput: tokens/s through crewyard's gateway against llama-cpp-python
called directly with the same prompt and settings, alternating, in one run.
Target: gateway ≥ 0.95× direct.

    .venv/bin/python bench/local_model.py [rounds]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's crewyard

from llama_cpp import Llama

from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.gateway.providers.local import default_model_path

MAX_TOKENS = 160
MESSAGES = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
MODELS_YAML = f"""
aliases:
  bench: {{model: local/smollm2, temperature: 0.0, max_tokens: {MAX_TOKENS}}}
local: {{n_ctx: 2048, seed: 0, repeat_penalty: 1.15}}
"""


def main(rounds: int = 5) -> None:
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
    gateway.complete("bench", MESSAGES)  # load and warm both before timing
    direct.create_chat_completion(messages=MESSAGES, max_tokens=8)  # type: ignore[arg-type]
    ours: list[float] = []
    theirs: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        reply = gateway.complete("bench", MESSAGES)
        ours.append(reply.completion_tokens / (time.perf_counter() - started))
        started = time.perf_counter()
        raw = direct.create_chat_completion(
            messages=MESSAGES,  # type: ignore[arg-type]
            max_tokens=MAX_TOKENS,
            temperature=0.0,
            seed=0,
            repeat_penalty=1.15,
        )
        theirs.append(raw["usage"]["completion_tokens"] / (time.perf_counter() - started))  # type: ignore[index]
    g, d = statistics.median(ours), statistics.median(theirs)
    print(
        f"local model tokens/s, median of {rounds} rounds of {MAX_TOKENS} tokens "
        "(target: gateway ≥ 0.95× direct)"
    )
    print(f"  llama-cpp-python direct  {d:7.1f} tok/s")
    print(f"  crewyard gateway         {g:7.1f} tok/s   {g / d:5.2f}× direct")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
