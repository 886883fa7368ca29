"""What the run viewer shows, as JSON-ready data read from the run store: the runs list, and
one run as a timeline of its events (tasks, agent turns, model calls with their replies, tool
calls, guardrail retries) with a summary per task and the questions it asked a person."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from crewyard.runs.store import ACTIVE, RunRecord, RunStore
from crewyard.runs.transcripts import (
    answered_calls,
    cassette_of,
    events_after,
    turns_after,
)

WAITING = "waiting_for_input"  # a parked run: its question is in the `questions` table
LIVE = (ACTIVE, WAITING)  # statuses the page keeps polling
TEXT_CAP = 20_000  # characters of one text the page receives


def run_summary(store: RunStore, run: RunRecord) -> dict[str, Any]:
    """A run's line: a live run's spend is what its recorded model calls spent so far."""
    end = run.finished_at if run.finished_at is not None else time.time()
    usage, cost = run.usage, run.cost_usd
    if run.status in LIVE:
        usage = store.usage_of(run.id)
        cost = usage["cost_usd"]
    return {
        "id": run.id,
        "crew": run.crew,
        "status": run.status,
        "engine": run.engine,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "duration_s": round(end - run.started_at, 3),
        "cost_usd": cost,
        "total_tokens": int(usage.get("total_tokens", 0) or 0),
        "calls": int(usage.get("calls", 0) or 0),
        "error": run.error,
        "live": run.status in LIVE,
    }


def runs_list(store: RunStore, limit: int = 50, crew: str | None = None) -> list[dict[str, Any]]:
    return [run_summary(store, r) for r in store.recent(limit, crew)]


def _cap(text: Any) -> str | None:
    if text is None:
        return None
    whole = str(text)
    return whole if len(whole) <= TEXT_CAP else whole[:TEXT_CAP] + f"… ({len(whole)} characters)"


def run_timeline(store: RunStore, run_id: str, cassettes_dir: Path) -> dict[str, Any]:
    """The run, its tasks and its timeline (events and group-chat turns, in time order)."""
    run = store.get(run_id)
    events = events_after(store, run.id)
    replies = {
        event.seq: text
        for event, text in answered_calls(events, cassette_of(events, cassettes_dir, run.id))
    }
    outputs = {c.task: c for c in store.checkpoints(run.id)}
    items: list[dict[str, Any]] = []
    working: dict[str, str] = {}  # agent -> the task it works on (tool calls name no task)
    for event in events:
        d = event.data
        task, agent = d.get("task"), d.get("agent")
        if task and agent:
            working.update({name.strip(): task for name in str(agent).split(",")})
        item: dict[str, Any] = {
            "key": f"e{event.seq}",
            "seq": event.seq,
            "ts": event.ts,
            "kind": event.kind,
            "task": task or (working.get(str(agent)) if agent else None),
            "agent": agent,
            "data": {k: v for k, v in d.items() if k not in ("task", "agent")},
        }
        if event.kind == "model_call":
            item["text"] = _cap(replies.get(event.seq))
        elif event.kind == "tool_call":
            item["text"] = _cap(d.get("result"))
        elif event.kind == "task_finished" and d.get("task") in outputs:
            item["text"] = _cap(outputs[d["task"]].output)
        elif event.kind == "memory_recalled":
            item["text"] = _cap(d.get("text"))
            item["data"].pop("text", None)
        items.append(item)
    for said in turns_after(store, run.id):
        items.append(
            {
                "key": f"t{said.seq}",
                "seq": said.seq,
                "ts": said.created_at,
                "kind": "turn",
                "task": said.task or None,
                "agent": said.agent,
                "data": {},
                "text": _cap(said.content),
            }
        )
    items.sort(key=lambda i: i["ts"])
    questions = [
        {k: (_cap(r[k]) if k in ("prompt", "context") else r[k]) for k in r.keys()}  # noqa: SIM118
        for r in store.query(
            "SELECT key, prompt, context, task, agent, default_answer, asked_at, deadline,"
            " answer, answered_by FROM questions WHERE run_id = ? ORDER BY asked_at",
            (run.id,),
        )
    ]
    return {
        "run": {
            **run_summary(store, run),
            "inputs": run.inputs,
            "output": _cap(run.output),
            "replay_of": run.replay_of,
            "usage": run.usage,
        },
        "tasks": _tasks(items, outputs, live=run.status in LIVE),
        "items": items,
        "questions": questions,
        # what a waiting run asks: the page's answer form posts to /api/runs/ID/answer
        "answer": {
            "waiting": run.status == WAITING,
            "supported": True,
            "questions": [q for q in questions if q["answer"] is None],
            "hint": f'python main.py runs answer {run.id} "…"',
        },
    }


def _tasks(
    items: list[dict[str, Any]], outputs: dict[str, Any], live: bool
) -> list[dict[str, Any]]:
    """Per task, in the order they started: agent, state, tokens, cost, failed attempts and
    guardrail retries."""
    tasks: dict[str, dict[str, Any]] = {}
    for item in items:
        name = item["task"]
        if not name:
            continue
        task = tasks.setdefault(
            name,
            {
                "name": name,
                "agent": item["agent"],
                "state": "running",
                "tokens": 0,
                "cost_usd": 0.0,
                "model_calls": 0,
                "failed_attempts": 0,
                "tool_calls": 0,
                "turns": 0,
                "guardrail_retries": 0,
                "output_file": None,
            },
        )
        d = item["data"]
        kind = item["kind"]
        if kind == "model_call":
            task["model_calls"] += 1
            task["cost_usd"] += float(d.get("cost_usd") or 0)
            if not d.get("cached"):
                task["tokens"] += int(d.get("prompt_tokens") or 0)
                task["tokens"] += int(d.get("completion_tokens") or 0)
            task["failed_attempts"] += 1 if d.get("error") else 0
        elif kind == "tool_call":
            task["tool_calls"] += 1
        elif kind == "turn":
            task["turns"] += 1
        elif kind == "guardrail_failed":
            task["guardrail_retries"] += 1
        elif kind in ("task_finished", "task_kept"):
            task["state"] = "kept" if kind == "task_kept" else "done"
            task["output_file"] = d.get("output_file") or task["output_file"]
        elif kind == "task_started" and item["agent"]:
            task["agent"] = item["agent"]
    for name, task in tasks.items():
        if task["state"] == "running" and name in outputs:
            task["state"] = "done"
        elif task["state"] == "running" and not live:
            task["state"] = "stopped"  # the run ended before this task did
        task["cost_usd"] = round(task["cost_usd"], 6)
    return list(tasks.values())
