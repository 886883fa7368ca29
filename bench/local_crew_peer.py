"""Wall time per run of the research crew on the embedded model (SmolLM2-135M through
llama.cpp), crewyard against a plain CrewAI crew of the same shape: the same agents and tasks
from crews/research, the same GGUF file and llama.cpp settings (n_ctx 8192, seed 0, all
cores, the alias's temperature and max_tokens), called through a minimal CrewAI BaseLLM
(CrewAI has no llama.cpp client of its own). Each run is a new process, alternating sides;
a run succeeds when it exits 0 (crewyard: every guardrail passed; plain CrewAI: its kickoff
returned). Prints successes and the median wall time of each side, and their ratio.

    .venv/bin/python bench/local_crew_peer.py [runs]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from plain_crewai import peer_script

from crewyard.gateway.providers.local import default_model_path

TOPIC = "home solar batteries"
PLAIN_CREWAI = """
import os
from typing import Any
from crewai import BaseLLM
from llama_cpp import Llama
from plain_crewai import crew_from_folder

crew_dir, model_path, topic = sys.argv[1], sys.argv[2], sys.argv[3]
llama = Llama(model_path=model_path, n_ctx=8192, n_threads=os.cpu_count(),
              n_threads_batch=os.cpu_count(), seed=0, verbose=False)


class LlamaLLM(BaseLLM):
    def call(self, messages: Any, tools: Any = None, callbacks: Any = None,
             available_functions: Any = None, from_task: Any = None, from_agent: Any = None,
             response_model: Any = None) -> str:
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        reply = llama.create_chat_completion(
            messages=messages, temperature=0.2, max_tokens=384, stop=self.stop or None
        )
        return reply["choices"][0]["message"]["content"] or ""

    def supports_function_calling(self) -> bool:
        return False

    def get_context_window_size(self) -> int:
        return 8192


llm = LlamaLLM(model="smollm2")
crew = crew_from_folder(crew_dir, llm)
print(crew.kickoff(inputs={"topic": topic}).raw[:200])
"""
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("CREWYARD_")},
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[bool, float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    why = done.stderr.strip().splitlines()[-1:] if done.returncode else []
    return done.returncode == 0, time.perf_counter() - started, " ".join(why)[:200]


def main(runs: int = 5) -> None:
    results: dict[str, list[tuple[bool, float, str]]] = {"crewyard": [], "plain CrewAI": []}
    with tempfile.TemporaryDirectory() as tmp:
        script = peer_script(Path(tmp) / "plain_crewai.py", PLAIN_CREWAI)
        for number in range(runs):
            sides = list(results) if number % 2 == 0 else list(reversed(results))
            for side in sides:
                data = Path(tmp) / f"{side.replace(' ', '-')}-{number}"
                env = {**ENV, "CREWYARD_DATA_DIR": str(data), "CREWAI_STORAGE_DIR": str(data)}
                if side == "crewyard":
                    cmd = [sys.executable, "main.py", "--crew", "research"]
                    cmd += ["--input", f"topic={TOPIC}"]
                else:
                    cmd = [sys.executable, str(script), str(ROOT / "crews/research")]
                    cmd += [str(default_model_path()), TOPIC]
                results[side].append(timed(cmd, env))
    print(
        f"research crew on the embedded model (SmolLM2-135M, llama.cpp), {runs} runs a side, "
        "each a new process, alternating"
    )
    medians = {}
    for side, done in results.items():
        medians[side] = statistics.median(t for _, t, _ in done)
        print(
            f"  {side:<13} {sum(ok for ok, _, _ in done)}/{runs} succeeded; wall per run "
            f"median {medians[side]:.1f} s (min {min(t for _, t, _ in done):.1f}, "
            f"max {max(t for _, t, _ in done):.1f})"
        )
        for ok, _, why in done:
            if not ok:
                print(f"    failed: {why}")
    print(f"  crewyard / plain CrewAI: {medians['crewyard'] / medians['plain CrewAI']:.2f}×")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
