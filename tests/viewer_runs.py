"""Runs written straight into a run store for the run viewer's tests: a finished CrewAI run
with a cassette (a failed attempt, a tool call, a guardrail retry) and an AutoGen debate still
running, in this process (so no store marks it interrupted); and a run parked on a question."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from crewyard.runs.questions import Asked, QuestionStore
from crewyard.runs.store import RunStore

DONE = "20261201-100000-aaaaaa"
RUNNING = "20261201-110000-bbbbbb"


def call(agent: str, task: str, **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "alias": "standard",
        "model": "scripted/main",
        "agent": agent,
        "task": task,
        "prompt_tokens": 40,
        "completion_tokens": 10,
        "cost_usd": 0.0125,
        "latency_ms": 12.0,
        "error": None,
    }
    return {**fields, **extra}


def fill(store: RunStore, data_dir: Path) -> None:
    cassettes = data_dir / "cassettes"
    cassettes.mkdir(parents=True, exist_ok=True)
    cassette = cassettes / f"{DONE}.jsonl"
    store.start(DONE, "research", {"topic": "tides"}, "crewai", data_dir / "out", None)
    n = 0

    def event(run_id: str, kind: str, **data: Any) -> None:
        nonlocal n
        store.event(run_id, kind, data)
        n += 1

    event(DONE, "run_started", crew="research", engine="crewai", cassette=str(cassette))
    event(DONE, "task_started", task="research", agent="researcher")
    failed = call("researcher", "research", error="rate limited", completion_tokens=0)
    store.model_call(DONE, **failed)
    event(DONE, "model_call", **failed, attempt=1)
    store.model_call(DONE, **call("researcher", "research"), attempt=2)
    event(DONE, "model_call", **call("researcher", "research"), attempt=2)
    event(
        DONE,
        "tool_call",
        tool="calculator",
        agent="researcher",
        args={"expression": "12*2"},
        result="24",
        duration_ms=0.4,
    )
    store.checkpoint(DONE, "research", "researcher", "Tides rise twice a day.")
    event(DONE, "task_finished", task="research", agent="researcher", output_file=None)
    event(DONE, "task_started", task="write", agent="writer")
    store.model_call(DONE, **call("writer", "write"))
    event(DONE, "model_call", **call("writer", "write"))
    event(DONE, "guardrail_failed", task="write", attempt=1, reasons=["must start with '# '"])
    store.model_call(DONE, **call("writer", "write"))
    event(DONE, "model_call", **call("writer", "write"))
    store.checkpoint(DONE, "write", "writer", "# Tides\n\nThey follow the moon.", "report.md")
    event(DONE, "task_finished", task="write", agent="writer", output_file="report.md")
    lines: list[dict[str, Any]] = [{"kind": "header", "version": 1, "run_id": DONE}]
    replies = [
        ("researcher", "research", "Final Answer: Tides rise twice a day."),
        ("writer", "write", "Tides follow the moon."),
        ("writer", "write", "# Tides\n\nThey follow the moon."),
    ]
    for seq, (agent, task, text) in enumerate(replies, 1):
        lines.append(
            {"seq": seq, "kind": "call", "agent": agent, "task": task, "reply": {"text": text}}
        )
    cassette.write_text("".join(json.dumps(x) + "\n" for x in lines))
    usage = {"calls": 3, "total_tokens": 150, "prompt_tokens": 120, "completion_tokens": 30}
    store.finish(DONE, "done", output="# Tides", usage=usage, cost_usd=0.05)
    event(DONE, "run_finished", status="done", duration_s=2.5)

    store.start(RUNNING, "debate", {"question": "solar?"}, "autogen", data_dir / "out2", None)
    store.event(RUNNING, "run_started", {"crew": "debate", "engine": "autogen"})
    store.event(RUNNING, "task_started", {"task": "decide", "agent": "pro, con"})
    store.model_call(RUNNING, **call("pro", "decide"))
    store.event(RUNNING, "model_call", call("pro", "decide"))
    store.turn(RUNNING, "decide", "pro", "Yes: cheap power.")


WAITING = "20261201-120000-cccccc"


def park(store: RunStore, db: Path, data_dir: Path) -> None:
    """A run parked waiting for a person's answer, with its question."""
    store.start(WAITING, "review", {}, "crewai", data_dir / "out3", None)
    store.event(WAITING, "task_started", {"task": "draft", "agent": "writer"})
    questions = QuestionStore(db)
    asked = Asked(
        run_id=WAITING,
        key="draft/1",
        prompt="Is this draft good to send?",
        context="# Draft\n\nHello.",
        task="draft",
        agent="writer",
        default="",
        asked_at=time.time(),
        deadline=None,
        answer=None,
        answered_by=None,
    )
    questions.ask(asked)
    questions.close()
    store.finish(WAITING, "waiting_for_input", error="waiting for an answer")
