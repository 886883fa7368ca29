"""python main.py runs show RUN_ID --transcript | --follow: a run's agent turns in order, and a
running run tailed as it is stored (crewyard/runs/transcripts.py reads them back)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from crewyard.errors import ExitCode
from crewyard.runs.store import ACTIVE, RunStore
from crewyard.runs.transcripts import StoredEvent, StoredTurn, Turn, events_after, transcript
from crewyard.runs.transcripts import turns_after as chat_after

POLL_S = 0.3
SETTLE_S = 2.0  # after the run's record says it ended, how long its last events may take
CHECK_S = 3.0  # how often to look whether the process running the run is still alive


def print_transcript(store: RunStore, run_id: str, cassettes_dir: Path, as_json: bool) -> int:
    run = store.get(run_id)
    turns = transcript(store, run.id, cassettes_dir)
    if as_json:
        print(json.dumps([t.as_dict() for t in turns], indent=2, ensure_ascii=False))
        return ExitCode.OK
    print(f"run {run.id} · crew {run.crew} · {run.engine} · {run.status} · {len(turns)} turns")
    if not turns:
        print("no agent turns recorded")
    for turn in turns:
        _print_turn(turn)
    return ExitCode.OK


def _print_turn(turn: Turn) -> None:
    where = " · ".join(x for x in (turn.task, turn.agent, turn.model) if x)
    tokens = f" · {turn.prompt_tokens}+{turn.completion_tokens} tokens" if turn.model else ""
    print(f"\n── turn {turn.number} · {where}{tokens}\n{turn.text}", flush=True)


def follow(
    store: RunStore, run_id: str, cassettes_dir: Path, *, turns_only: bool, poll_s: float = POLL_S
) -> int:
    """Print the run's events and group-chat turns (turns_only: its transcript's turns) as they
    are stored, from the first, until the run ends. Ctrl-C stops following (exit code 0)."""
    run = store.get(run_id)
    print(f"following run {run.id} · crew {run.crew} · {run.engine} (Ctrl-C stops)", flush=True)
    tail = _Tail(store, run.id, cassettes_dir, turns_only)
    ended_at: float | None = None
    checked = time.monotonic()
    try:
        while True:
            if time.monotonic() - checked > CHECK_S:  # its process died: it is interrupted
                store.mark_interrupted()
                checked = time.monotonic()
            status = store.get(run.id).status
            tail.step(running=status == ACTIVE)
            if status != ACTIVE:
                ended_at = ended_at or time.monotonic()
                if tail.finished or time.monotonic() - ended_at > SETTLE_S:
                    break
            time.sleep(poll_s)
    except KeyboardInterrupt:
        return ExitCode.OK
    if turns_only:
        tail.step(running=False)
    final = store.get(run.id)
    took = f" in {final.finished_at - final.started_at:.1f} s" if final.finished_at else ""
    print(
        f"\nrun {final.id} {final.status}{took} · {final.usage.get('total_tokens', 0)} tokens"
        f" · ${final.cost_usd:.4f}" + (f"\nerror: {final.error}" if final.error else ""),
        flush=True,
    )
    return ExitCode.OK


class _Tail:
    def __init__(self, store: RunStore, run_id: str, cassettes_dir: Path, turns_only: bool):
        self.store, self.run_id, self.cassettes_dir = store, run_id, cassettes_dir
        self.turns_only = turns_only
        self.last_event = self.last_chat = -1
        self.printed = 0
        self.finished = False

    def step(self, running: bool) -> None:
        if self.turns_only:
            turns = transcript(self.store, self.run_id, self.cassettes_dir, running=running)
            for turn in turns[self.printed :]:
                if not turn.ready:
                    break
                _print_turn(turn)
                self.printed += 1
            self.finished = not running
            return
        events = events_after(self.store, self.run_id, self.last_event)
        chat = chat_after(self.store, self.run_id, self.last_chat)
        if events:
            self.last_event = events[-1].seq
        if chat:
            self.last_chat = chat[-1].seq
        items: list[StoredEvent | StoredTurn] = [*events, *chat]
        items.sort(key=lambda x: x.ts if isinstance(x, StoredEvent) else x.created_at)
        for item in items:
            if isinstance(item, StoredTurn):
                text = item.content.replace("\n", "\n    ")
                print(f"{_clock(item.created_at)}  {item.agent} said ({item.task}):\n    {text}")
            else:
                print(f"{_clock(item.ts)}  {describe(item.kind, item.data)}")
                self.finished = self.finished or item.kind == "run_finished"
        print(end="", flush=True)


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S")


def describe(kind: str, d: dict[str, Any]) -> str:
    """One event as a line of text."""
    who = " · ".join(str(x) for x in (d.get("task"), d.get("agent")) if x)
    if kind == "model_call":
        line = (
            f"model call {d.get('alias')} ({d.get('model')}) {who}: {d.get('prompt_tokens')} in,"
            f" {d.get('completion_tokens')} out, ${d.get('cost_usd') or 0:.4f}"
        )
        if d.get("error"):
            line += f" — attempt {d.get('attempt')} failed: {str(d['error'])[:200]}"
        return line + (" (cached)" if d.get("cached") else "")
    if kind == "tool_call":
        args = json.dumps(d.get("args") or {}, ensure_ascii=False)[:120]
        result = str(d.get("result") or ("skipped" if d.get("skipped") else ""))[:160]
        return f"tool {d.get('tool')}({args}) by {d.get('agent')} → {result}"
    if kind in ("task_started", "task_finished", "task_kept", "agent_turn"):
        return f"{kind.replace('_', ' ')}: {who}"
    if kind == "guardrail_failed":
        reasons = "; ".join(map(str, d.get("reasons") or []))
        return f"guardrails of {d.get('task')} failed on attempt {d.get('attempt')}: {reasons}"
    if kind == "run_finished":
        return f"run finished: {d.get('status')} in {d.get('duration_s')} s"
    if kind == "run_started":
        why = f" ({d['reason']})" if d.get("reason") else ""
        return f"run started: crew {d.get('crew')} on {d.get('engine')}{why}"
    shown = ", ".join(f"{k}={v}" for k, v in d.items() if k not in ("output", "text", "items"))
    return f"{kind}: {shown}"[:300]
