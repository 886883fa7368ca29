"""tests/fakellm itself, over real HTTP: replies, streaming, tool calls, errors, strictness."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakellm import FakeLLM, Reply
from tests.fakellm.plugin import strictness_problems

MESSAGES = [{"role": "user", "content": "hello there"}]
TOOL_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
}


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        yield fake


def post(fake: FakeLLM, body: Any) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(
        f"{fake.url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def sse(payload: bytes) -> list[Any]:
    lines = [ln[6:] for ln in payload.decode().splitlines() if ln.startswith("data: ")]
    return [ln if ln == "[DONE]" else json.loads(ln) for ln in lines]


def test_plain_reply_echoes_model_and_reports_usage(server: FakeLLM) -> None:
    server.add(Reply("hi back", prompt_tokens=5, completion_tokens=2))
    status, _, raw = post(server, {"model": "m1", "messages": MESSAGES})
    data = json.loads(raw)
    assert status == 200 and data["model"] == "m1"
    assert data["choices"][0]["message"]["content"] == "hi back"
    assert data["usage"] == {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    assert server.prompts() == ["hello there"] and server.unused == 0


def test_streamed_reply_reassembles_with_usage_and_done(server: FakeLLM) -> None:
    server.add("one two three")
    body = {
        "model": "m",
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    status, headers, raw = post(server, body)
    events = sse(raw)
    assert status == 200 and headers["Content-Type"] == "text/event-stream"
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "one two three"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


def test_a_stream_carries_usage_only_when_asked_and_stream_options_need_a_stream(
    server: FakeLLM,
) -> None:
    server.add("one two")
    _, _, raw = post(server, {"model": "m", "messages": MESSAGES, "stream": True})
    chunks = sse(raw)[:-1]
    assert all(c["choices"] and "usage" not in c for c in chunks)  # no usage chunk
    assert [c["choices"][0]["delta"].get("content") for c in chunks][1:3] == ["one", " two"]
    options = {"include_usage": True}
    status, _, raw = post(server, {"model": "m", "messages": MESSAGES, "stream_options": options})
    assert status == 400 and "only allowed when 'stream' is enabled" in raw.decode()
    bad = {"include_usage": "yes"}
    body = {"model": "m", "messages": MESSAGES, "stream": True, "stream_options": bad}
    assert post(server, body)[0] == 400
    assert post(server, {"model": "m", "messages": MESSAGES, "stream": "true"})[0] == 400
    assert len(server.violations) == 3


def test_tool_calls_plain_and_streamed(server: FakeLLM) -> None:
    server.add(Reply(tool_calls=[TOOL_CALL]), Reply(tool_calls=[TOOL_CALL]))
    _, _, raw = post(server, {"model": "m", "messages": MESSAGES})
    choice = json.loads(raw)["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [TOOL_CALL]
    _, _, raw = post(server, {"model": "m", "messages": MESSAGES, "stream": True})
    deltas = [c["choices"][0] for c in sse(raw)[:-1]]
    parts = [d["delta"]["tool_calls"][0] for d in deltas if "tool_calls" in d["delta"]]
    assert parts[0]["function"]["name"] == "add"
    assert "".join(p["function"]["arguments"] for p in parts) == TOOL_CALL["function"]["arguments"]
    assert deltas[-1]["finish_reason"] == "tool_calls"


def test_scripted_rate_limit_with_retry_after(server: FakeLLM) -> None:
    server.add(Reply(status=429, error="slow down", headers={"Retry-After": "1"}))
    status, headers, raw = post(server, {"model": "m", "messages": MESSAGES})
    assert (status, headers["Retry-After"]) == (429, "1")
    assert json.loads(raw)["error"] == {
        "message": "slow down",
        "type": "rate_limit_exceeded",
        "code": 429,
    }


def test_no_reply_left_and_invalid_bodies_are_violations(server: FakeLLM) -> None:
    status, _, raw = post(server, {"model": "m", "messages": MESSAGES})
    assert status == 500 and b"no scripted reply left for request 1" in raw
    status, _, _ = post(server, {"model": "m"})
    assert status == 400
    status, _, _ = post(server, {"model": "m", "messages": [{"role": "robot", "content": "x"}]})
    assert status == 400
    assert len(server.violations) == 3 and len(server.requests) == 1


def test_latency_is_applied(server: FakeLLM) -> None:
    server.add(Reply("slow", latency=0.2))
    started = time.perf_counter()
    post(server, {"model": "m", "messages": MESSAGES})
    assert time.perf_counter() - started >= 0.2


def test_strictness_reports_unused_replies_unless_allowed(server: FakeLLM) -> None:
    server.add("never asked for")
    assert strictness_problems(server) == ["1 scripted reply unused"]
    server.allow_unused()
    assert strictness_problems(server) == []
