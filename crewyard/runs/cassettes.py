"""Cassettes: every model request and reply of a run, one JSON line each, in
`<data_dir>/cassettes/<run_id>.jsonl`, so `--replay` can run the crew again with no model call.

Line 1 is the header (crew, inputs, the recalled-memory block); then, in the order they
happened, `call` entries (the request: model ref, messages, options; the final reply or the
error that ended the call) and `memory` entries (what a memory search or save returned).
Everything is passed through redact_data before it is written, and no API key, header or
api_base is ever part of an entry. Both cassettes are the gateway's Tape (gateway/tapes.py): a
writer keeps each call, a player answers each call; and the run's memory tape asks them the same
way (`play_memory`, `keep_memory`), so no caller needs to know which one it holds."""

from __future__ import annotations

import difflib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from crewyard.errors import BudgetExceeded, ConfigError, ModelError, ReplayMismatch
from crewyard.gateway.records import Completion
from crewyard.gateway.tapes import NoTape, Replayed, Request
from crewyard.redact import redact_data
from crewyard.settings import usable_folder

VERSION = 1
DIFF_LINES = 80  # a mismatch shows at most this many diff lines


def normalized(value: Any) -> Any:
    """value as it reads back from a cassette: redacted, JSON types only."""
    return json.loads(json.dumps(redact_data(value), default=str))


def request_of(ref: str, messages: list[dict[str, Any]], options: dict[str, Any]) -> dict[str, Any]:
    """The part of a model call that decides its reply, as a cassette stores it."""
    set_options = {k: v for k, v in options.items() if v is not None and v != []}
    request: dict[str, Any] = normalized(
        {"model": ref, "messages": messages, "options": set_options}
    )
    return request


class Played(NamedTuple):
    """What a memory operation returned when the run was recorded."""

    value: Any


@dataclass(frozen=True)
class Recorded:
    """One recorded model call."""

    seq: int  # line number of the entry, header excluded
    number: int  # 1-based among the cassette's calls
    alias: str
    model: str
    agent: str | None
    task: str | None
    request: dict[str, Any]
    reply: dict[str, Any] | None  # text, tool_calls, finish_reason, tokens, cost
    error: str | None = None  # the error that ended the call, when it failed
    error_kind: str | None = None  # "model" or "budget"

    @property
    def who(self) -> str:
        return f"agent {self.agent!r}, task {self.task!r}"


class _Cassette(NoTape):
    """What both cassettes answer by default: nothing to play, nothing to keep."""

    def play_memory(self, op: str, args: dict[str, Any]) -> Played | None:
        return None

    def keep_memory(self, op: str, args: dict[str, Any], result: Any) -> None:
        return None


class CassetteWriter(_Cassette):
    """Appends entries to a run's cassette, flushed one by one (a crashed run keeps what it
    recorded); safe to call from engine threads and event loops at once."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        usable_folder(path.parent, "the cassettes folder")
        self.path = path
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")
        self._seq = 0
        self._calls = 0
        header = {"kind": "header", "version": VERSION, "recorded_at": time.time(), **header}
        self._write(header)

    def _write(self, entry: dict[str, Any]) -> None:
        line = json.dumps(normalized(entry), ensure_ascii=False)
        self._file.write(line + "\n")
        self._file.flush()

    def keep(
        self,
        request: Request,
        result: Completion | None = None,
        error: BaseException | None = None,
    ) -> None:
        """A call's final reply, or the model or budget error that ended it (failed attempts
        before a good reply are not part of the cassette)."""
        entry: dict[str, Any] = {
            "kind": "call",
            "agent": request.agent,
            "task": request.task,
            "request": request_of(request.ref, request.messages, request.options),
        }
        if result is not None:
            entry |= {"alias": result.alias, "model": result.model, "reply": _reply_of(result)}
        elif isinstance(error, ModelError):
            entry |= {"alias": error.alias, "model": error.model, "reply": None}
            entry |= {"error": error.detail, "error_kind": "model"}
        elif isinstance(error, BudgetExceeded):  # the call was refused before it was made
            entry |= {"alias": request.ref, "model": "", "reply": None}
            entry |= {"error": str(error), "error_kind": "budget"}
        else:
            return
        with self._lock:
            self._seq += 1
            self._calls += 1
            self._write({"seq": self._seq, "number": self._calls, **entry})

    def keep_memory(self, op: str, args: dict[str, Any], result: Any) -> None:
        """What a memory search or save returned during the run."""
        with self._lock:
            self._seq += 1
            self._write(
                {"seq": self._seq, "kind": "memory", "op": op, "args": args, "result": result}
            )

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_cassette(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(header, entries); a last line cut short by a crash is dropped, any other bad line is
    a ConfigError naming it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            if number == len(lines):
                break
            raise ConfigError(f"not a cassette line: {exc}", file=path, line=number) from exc
    if not rows or rows[0].get("kind") != "header":
        raise ConfigError("not a crewyard cassette (no header line)", file=path, line=1)
    header = rows[0]
    if int(header.get("version", 0)) > VERSION:
        raise ConfigError(
            f"cassette version {header.get('version')} is newer than this crewyard reads",
            file=path,
            hint="replay it with the crewyard version that recorded it",
        )
    return header, rows[1:]


class CassettePlayer(_Cassette):
    """Answers a replayed run's model calls and memory reads from a cassette.

    Matching: each (agent, task) pair is a stream of calls in recorded order, and a request
    takes the next entry of its stream, which must hold the same model ref, messages and
    options. Streams keep replays of concurrent agents independent of thread timing. After a
    first mismatch every later request fails with it again, so engine retries cannot hide
    it behind another error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header, entries = read_cassette(path)
        self._streams: dict[tuple[str | None, str | None], deque[Recorded]] = {}
        self._memory: dict[str, deque[Any]] = {}
        self.total = 0
        for row in entries:
            if row.get("kind") == "call":
                fields: dict[str, Any] = {k: row.get(k) for k in Recorded.__dataclass_fields__}
                entry = Recorded(**fields)
                self._streams.setdefault((entry.agent, entry.task), deque()).append(entry)
                self.total += 1
            elif row.get("kind") == "memory":
                key = _memory_key(row["op"], row.get("args") or {})
                self._memory.setdefault(key, deque()).append(row.get("result"))
        self.served = 0
        self._broken: ReplayMismatch | None = None
        self._lock = threading.Lock()

    @property
    def run_id(self) -> str:
        return str(self.header.get("run_id") or self.path.stem)

    @property
    def crew(self) -> str:
        return str(self.header.get("crew") or "")

    @property
    def inputs(self) -> dict[str, Any]:
        return dict(self.header.get("inputs") or {})

    @property
    def memory_block(self) -> str:
        return str(self.header.get("memory_block") or "")

    def answer(
        self,
        ref: str,
        messages: list[dict[str, Any]],
        options: dict[str, Any],
        agent: str | None,
        task: str | None,
    ) -> Recorded:
        """The recorded call this request replays; ReplayMismatch when there is none."""
        live = request_of(ref, messages, options)
        with self._lock:
            if self._broken is not None:
                raise ReplayMismatch(str(self._broken))
            stream = self._streams.get((agent, task))
            if not stream:
                done = self.served
                self._fail(
                    f"replay of run {self.run_id}: a model call of agent {agent!r}, task "
                    f"{task!r} was not recorded (the recording made no more calls for them; "
                    f"{done} of {self.total} recorded calls were replayed before it)"
                )
            entry = stream[0]
            if entry.request != live:
                self._fail(
                    f"replay of run {self.run_id}: call {entry.number} ({entry.who}) differs "
                    f"from the recording:\n{request_diff(entry.request, live, self.path)}"
                )
            stream.popleft()
            self.served += 1
            return entry

    def play(self, request: Request) -> Replayed:
        """The recorded reply (or error) of this call; ReplayMismatch if the request differs."""
        entry = self.answer(
            request.ref, request.messages, request.options, request.agent, request.task
        )
        note = f"replayed call {entry.number} of run {self.run_id}"
        if entry.error_kind == "budget":
            return Replayed(entry.alias, entry.model, note, error=BudgetExceeded(entry.error or ""))
        completion = completion_of(entry)
        if entry.error_kind == "model":
            error = ModelError(entry.alias, entry.model, entry.error or "failed")
            return Replayed(entry.alias, entry.model, note, completion, error)
        return Replayed(entry.alias, entry.model, note, completion)

    def play_memory(self, op: str, args: dict[str, Any]) -> Played:
        """What this memory operation returned when the run was recorded."""
        with self._lock:
            if self._broken is not None:
                raise ReplayMismatch(str(self._broken))
            results = self._memory.get(_memory_key(op, args))
            if not results:
                self._fail(
                    f"replay of run {self.run_id}: memory {op} {json.dumps(args)} was not recorded"
                )
            return Played(results.popleft())

    def unused(self) -> list[Recorded]:
        with self._lock:
            return sorted((e for s in self._streams.values() for e in s), key=lambda e: e.seq)

    def check_all_used(self) -> None:
        """A replay that made fewer calls than its recording differs from it too."""
        left = self.unused()
        if left:
            first = left[0]
            self._fail(
                f"replay of run {self.run_id}: the crew finished after {self.served} of "
                f"{self.total} recorded model calls; call {first.number} ({first.who}) "
                "was never made"
            )

    def _fail(self, message: str) -> NoReturn:
        hint = (
            f"\n  fix: if the crew changed on purpose, record it again: python main.py "
            f"--crew {self.crew} --record"
        )
        self._broken = ReplayMismatch(message + hint)
        raise self._broken


def completion_of(entry: Recorded) -> Completion:
    """A recorded reply as the gateway returns it (nothing spent: it is not paid again)."""
    reply = entry.reply or {}
    return Completion(
        text=str(reply.get("text") or ""),
        model=entry.model,
        alias=entry.alias,
        prompt_tokens=int(reply.get("prompt_tokens") or 0),
        completion_tokens=int(reply.get("completion_tokens") or 0),
        cost_usd=0.0,
        latency_ms=0.0,
        finish_reason=reply.get("finish_reason"),
        tool_calls=list(reply.get("tool_calls") or []),
        attempts=int(reply.get("attempts") or 1),
    )


def _memory_key(op: str, args: dict[str, Any]) -> str:
    return op + json.dumps(normalized(args), sort_keys=True)


def request_lines(request: dict[str, Any]) -> list[str]:
    """A request as readable lines: model, options, then each message's text."""
    lines = [f"model: {request.get('model')}"]
    for key, value in sorted((request.get("options") or {}).items()):
        lines.append(f"{key}: {json.dumps(value, sort_keys=True)}")
    for i, message in enumerate(request.get("messages") or []):
        lines.append(f"[{i}] {message.get('role')}:")
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content, sort_keys=True)
        lines += [f"    {line}" for line in text.splitlines()]
        for key, value in sorted(message.items()):
            if key not in ("role", "content"):
                lines.append(f"    ({key}: {json.dumps(value, sort_keys=True)})")
    return lines


def request_diff(recorded: dict[str, Any], live: dict[str, Any], path: Path) -> str:
    """A unified diff, recorded → this run, cut to DIFF_LINES lines."""
    diff = list(
        difflib.unified_diff(
            request_lines(recorded),
            request_lines(live),
            fromfile=f"recorded ({path})",
            tofile="this run",
            lineterm="",
            n=2,
        )
    )
    if len(diff) > DIFF_LINES:
        diff = [*diff[:DIFF_LINES], f"… ({len(diff) - DIFF_LINES} more diff lines)"]
    return "\n".join(diff)


def cassette_path(cassettes_dir: Path, run_id: str) -> Path:
    return cassettes_dir / f"{run_id}.jsonl"


def _reply_of(result: Completion) -> dict[str, Any]:
    return {
        "text": result.text,
        "tool_calls": result.tool_calls,
        "finish_reason": result.finish_reason,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost_usd": result.cost_usd,
        "attempts": result.attempts,
    }
