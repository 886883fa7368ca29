"""A run read back for people: its events with their numbers and times, its group-chat turns,
and its transcript — every agent turn in order, with the agent, the model, the tokens and the
text — for both engines.

Where a turn comes from:
- a group chat (AutoGen debate and coding) stores each message in the `turns` table as it is
  said: those rows are the turns; the model calls the same agent made since its previous turn
  (model_call events, by time) give the turn its model and tokens (an executor's turns have
  none);
- a run without group-chat turns (CrewAI sequential or hierarchical, the planning processes):
  each answered model call is a turn of the agent that made it, and its text is the reply the
  run's cassette recorded (`call` entries, matched to the calls of the same agent and task in
  order). Failed attempts are not turns. A run kept without a cassette (--no-record) has its
  turns without their text."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from crewyard.runs.store import RunStore
from crewyard.tools import react

NO_TEXT = "(the reply text was not recorded: this run kept no cassette)"


@dataclass(frozen=True)
class StoredEvent:
    seq: int
    ts: float
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class StoredTurn:
    seq: int
    task: str
    agent: str
    content: str
    created_at: float


@dataclass(frozen=True)
class Turn:
    """One agent turn of a transcript."""

    number: int  # 1-based, in the order the turns happened
    task: str | None
    agent: str | None
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    text: str
    ts: float
    ready: bool = True  # False: its text may still be on its way (a run that is running)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def events_after(store: RunStore, run_id: str, after: int = -1) -> list[StoredEvent]:
    """The run's events numbered above `after`, in order."""
    rows = store.query(
        "SELECT seq, ts, kind, data FROM events WHERE run_id = ? AND seq > ? ORDER BY seq",
        (run_id, after),
    )
    return [StoredEvent(r["seq"], r["ts"], r["kind"], json.loads(r["data"])) for r in rows]


def turns_after(store: RunStore, run_id: str, after: int = -1) -> list[StoredTurn]:
    """The run's group-chat messages numbered above `after`, in order."""
    rows = store.query(
        "SELECT seq, task, agent, content, created_at FROM turns"
        " WHERE run_id = ? AND seq > ? ORDER BY seq",
        (run_id, after),
    )
    return [
        StoredTurn(r["seq"], r["task"], r["agent"], r["content"], r["created_at"]) for r in rows
    ]


def cassette_of(events: list[StoredEvent], cassettes_dir: Path, run_id: str) -> Path:
    """Where the run's cassette is (run_started says so; else the usual place)."""
    for event in events:
        if event.kind == "run_started" and event.data.get("cassette"):
            return Path(str(event.data["cassette"]))
    return cassettes_dir / f"{run_id}.jsonl"


def recorded_replies(cassette: Path) -> dict[tuple[str | None, str | None], list[dict[str, Any]]]:
    """The answered calls of a cassette by (agent, task), in order; a line still being written
    (or cut short by a crash) is left out. {} when there is no cassette."""
    try:
        lines = cassette.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    streams: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("kind") == "call" and entry.get("reply") is not None:
            streams.setdefault((entry.get("agent"), entry.get("task")), []).append(entry)
    return streams


def reply_text(reply: dict[str, Any]) -> str:
    """A recorded reply as text: its words (a small model's JSON step as the step it was
    read as, Thought / Action or Final Answer), then the tools it called, if any."""
    text = react.as_text(str(reply.get("text") or ""))
    calls = []
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or call
        calls.append(f"→ calls {function.get('name')}({function.get('arguments', '')})")
    return "\n".join(x for x in [text, *calls] if x)


def answered_calls(
    events: list[StoredEvent], cassette: Path
) -> list[tuple[StoredEvent, str | None]]:
    """Every answered model call of the run (model_call events without an error) with the
    reply text its cassette recorded (None: not there, or not yet)."""
    streams = recorded_replies(cassette)
    taken: dict[tuple[str | None, str | None], int] = {}
    found = []
    for event in events:
        if event.kind != "model_call" or event.data.get("error"):
            continue
        key = (event.data.get("agent"), event.data.get("task"))
        index = taken.get(key, 0)
        taken[key] = index + 1
        stream = streams.get(key, [])
        found.append((event, reply_text(stream[index]["reply"]) if index < len(stream) else None))
    return found


def transcript(
    store: RunStore, run_id: str, cassettes_dir: Path, *, running: bool = False
) -> list[Turn]:
    """Every agent turn of the run, in order (see the module's docstring for where they come
    from). running: the run is still going, so a CrewAI turn whose text is not in the cassette
    yet is marked not ready rather than told it was never recorded."""
    events = events_after(store, run_id)
    chat = turns_after(store, run_id)
    if chat:
        return _chat_transcript(chat, events)
    cassette = cassette_of(events, cassettes_dir, run_id)
    recorded = cassette.is_file()
    turns = []
    for number, (event, text) in enumerate(answered_calls(events, cassette), 1):
        d = event.data
        turns.append(
            Turn(
                number=number,
                task=d.get("task"),
                agent=d.get("agent"),
                model=d.get("model"),
                prompt_tokens=int(d.get("prompt_tokens") or 0),
                completion_tokens=int(d.get("completion_tokens") or 0),
                text=text if text is not None else ("" if running else NO_TEXT),
                ts=event.ts,
                ready=text is not None or not (running and recorded),
            )
        )
    return turns


def _chat_transcript(chat: list[StoredTurn], events: list[StoredEvent]) -> list[Turn]:
    calls = [e for e in events if e.kind == "model_call" and not e.data.get("error")]
    used = [False] * len(calls)
    turns = []
    for number, said in enumerate(chat, 1):
        mine = []
        for i, call in enumerate(calls):
            if call.ts > said.created_at:
                break
            if not used[i] and call.data.get("agent") == said.agent:
                used[i] = True
                mine.append(call.data)
        turns.append(
            Turn(
                number=number,
                task=said.task or None,
                agent=said.agent,
                model=mine[-1].get("model") if mine else None,
                prompt_tokens=sum(int(c.get("prompt_tokens") or 0) for c in mine),
                completion_tokens=sum(int(c.get("completion_tokens") or 0) for c in mine),
                text=said.content,
                ts=said.created_at,
            )
        )
    return turns
