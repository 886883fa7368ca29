"""A strict OpenAI-compatible chat-completions server on 127.0.0.1 that replays a script.

Each request takes the next scripted Reply (text, tool calls, an HTTP error, latency, a dropped
connection), in plain or streaming (SSE) form; `inject()` adds faults at a set rate. Requests
are recorded; a request with no reply left, or an invalid body, is answered with an error and
recorded as a violation."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ROLES = {"system", "user", "assistant", "tool", "developer"}


@dataclass
class Reply:
    text: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    error: str = "scripted error"
    latency: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    headers: dict[str, str] | None = None
    drop: bool = False  # close the connection without answering (a connection reset)


def _error_body(status: int, message: str) -> dict[str, Any]:
    kind = {
        400: "invalid_request_error",
        401: "authentication_error",
        429: "rate_limit_exceeded",
    }.get(status, "server_error")
    return {"error": {"message": message, "type": kind, "code": status}}


def _invalid(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if not isinstance(body.get("model"), str):
        return "'model' must be a string"
    if "stream" in body and not isinstance(body["stream"], bool):
        return "'stream' must be a boolean"
    if "stream_options" in body:  # as OpenAI answers: only with stream on, a boolean inside
        options = body["stream_options"]
        if body.get("stream") is not True:
            return "'stream_options' is only allowed when 'stream' is enabled"
        if not isinstance(options, dict) or not isinstance(
            options.get("include_usage", False), bool
        ):
            return "'stream_options.include_usage' must be a boolean"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty list"
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ROLES:
            return f"messages[{i}] has no valid role"
        content = msg.get("content")
        if content is None and not (msg["role"] == "assistant" and msg.get("tool_calls")):
            return f"messages[{i}] has no content"
        if content is not None and not isinstance(content, str | list):
            return f"messages[{i}].content must be a string or a list"
    return None


class FakeLLM:
    """The server and its script; see the module docstring."""

    def __init__(
        self,
        replies: list[Reply | str] | None = None,
        *,
        model: str = "fake-model",
        latency: float = 0.0,
        responder: Callable[[dict[str, Any]], Reply | str] | None = None,
    ) -> None:
        self.model = model
        self.latency = latency
        # replies computed from each request (concurrent runs make a script's order a race)
        self.responder = responder
        self.in_flight = 0
        self.max_in_flight = 0  # the most requests answered at once
        self.answered: list[dict[str, Any]] = []  # requests whose reply was sent (200)
        self.paused = False  # while set, replies wait, then are dropped instead of sent
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.violations: list[str] = []
        self.embedding_requests: list[dict[str, Any]] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._allow_unused = False
        self._server: ThreadingHTTPServer | None = None
        self._faults: list[Reply] = []
        self._fault_every = 0
        self.faults_served = 0
        self.add(*(replies or []))

    def inject(self, faults: list[Reply], every: int) -> None:
        """Answer every `every`-th request with the next of `faults` (cycling) instead of the
        script: a fault rate of 1/every that consumes no scripted reply."""
        with self._lock:
            self._faults, self._fault_every = list(faults), every

    def add(self, *replies: Reply | str) -> None:
        with self._lock:
            self._script += [r if isinstance(r, Reply) else Reply(text=r) for r in replies]

    @property
    def unused(self) -> int:
        with self._lock:
            return len(self._script)

    def allow_unused(self) -> None:
        self._allow_unused = True

    @property
    def unused_allowed(self) -> bool:
        return self._allow_unused

    def prompts(self) -> list[str]:
        out = []
        for body in self.requests:
            parts = []
            for msg in body.get("messages", []):
                content = msg.get("content")
                if isinstance(content, list):
                    content = "\n".join(str(p.get("text", "")) for p in content)
                parts.append(str(content or ""))
            out.append("\n".join(parts))
        return out

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> FakeLLM:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _take(self, body: dict[str, Any], headers: dict[str, str]) -> Reply | str:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self.responder is not None:
                reply = self.responder(body)
                return reply if isinstance(reply, Reply) else Reply(text=reply)
            if self._fault_every and self._faults and len(self.requests) % self._fault_every == 0:
                self.faults_served += 1
                return self._faults[(self.faults_served - 1) % len(self._faults)]
            if not self._script:
                message = f"fakellm: no scripted reply left for request {len(self.requests)}"
                self.violations.append(message)
                return message
            return self._script.pop(0)

    def _record_violation(self, message: str) -> None:
        with self._lock:
            self.violations.append(message)


def _completion(fake: FakeLLM, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = reply.tool_calls
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": _usage(body, reply),
    }


def _usage(body: dict[str, Any], reply: Reply) -> dict[str, int]:
    text = "\n".join(str(m.get("content") or "") for m in body["messages"])
    prompt = reply.prompt_tokens if reply.prompt_tokens is not None else len(text) // 4 + 1
    done = (
        reply.completion_tokens
        if reply.completion_tokens is not None
        else (len(reply.text) // 4 + 1)
    )
    return {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}


def _chunks(body: dict[str, Any], reply: Reply) -> list[dict[str, Any]]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body["model"],
    }
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    words = reply.text.split(" ")
    deltas += [{"content": w if i == 0 else " " + w} for i, w in enumerate(words) if reply.text]
    for index, call in enumerate(reply.tool_calls or []):
        fn = call.get("function", {})
        deltas.append(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": call.get("id"),
                        "type": "function",
                        "function": {"name": fn.get("name"), "arguments": ""},
                    }
                ]
            }
        )
        deltas.append(
            {"tool_calls": [{"index": index, "function": {"arguments": fn.get("arguments", "")}}]}
        )
    finish = "tool_calls" if reply.tool_calls else "stop"
    chunks = [
        {**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas
    ]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage(body, reply)})
    return chunks


def _word_vector(text: str, dim: int = 32) -> list[float]:
    vector = [0.0] * dim
    for word in text.lower().split():
        vector[sum(map(ord, word.strip(".,!?"))) % dim] += 1.0
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]


def _handler_for(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: with Nagle on, the body would wait ~40 ms
        # for the client's delayed ACK, on every reply
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send_json(
                    200,
                    {
                        "object": "list",
                        "data": [{"id": fake.model, "object": "model", "owned_by": "fakellm"}],
                    },
                )
            else:
                self._send_json(404, _error_body(404, f"no route {self.path}"))

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.rstrip("/") in ("/v1/embeddings", "/embeddings"):
                self._embeddings(json.loads(raw or b"null"))
                return
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                fake._record_violation(f"POST to unknown path {self.path}")
                self._send_json(404, _error_body(404, f"no route {self.path}"))
                return
            try:
                body = json.loads(raw or b"null")
            except json.JSONDecodeError:
                body = None
            problem = _invalid(body)
            if problem:
                fake._record_violation(f"invalid request: {problem}")
                self._send_json(400, _error_body(400, problem))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            with fake._lock:
                fake.in_flight += 1
                fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
            try:
                self._answer(body, headers)
            finally:
                with fake._lock:
                    fake.in_flight -= 1

        def _answer(self, body: dict[str, Any], headers: dict[str, str]) -> None:
            reply = fake._take(body, headers)
            if isinstance(reply, str):
                self._send_json(500, _error_body(500, reply))
                return
            time.sleep(fake.latency + reply.latency)
            held = fake.paused
            while fake.paused:  # the client sees a call that hangs, then a reset
                time.sleep(0.02)
            if reply.drop or held:
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if reply.status != 200:
                self._send_json(reply.status, _error_body(reply.status, reply.error), reply.headers)
            elif body.get("stream"):
                self._stream(body, reply)
            else:
                self._send_json(200, _completion(fake, body, reply), reply.headers)
            if reply.status == 200:
                with fake._lock:
                    fake.answered.append(body)

        def _embeddings(self, body: Any) -> None:
            """Deterministic vectors from words: texts sharing words get similar vectors."""
            if not isinstance(body, dict) or not body.get("input"):
                fake._record_violation("invalid embeddings request")
                self._send_json(400, _error_body(400, "'input' is required"))
                return
            fake.embedding_requests.append(body)
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            data = [
                {"object": "embedding", "index": i, "embedding": _word_vector(str(t))}
                for i, t in enumerate(texts)
            ]
            tokens = sum(len(str(t).split()) for t in texts)
            self._send_json(
                200,
                {
                    "object": "list",
                    "data": data,
                    "model": body.get("model"),
                    "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                },
            )

        def _stream(self, body: dict[str, Any], reply: Reply) -> None:
            events = [f"data: {json.dumps(c)}\n\n" for c in _chunks(body, reply)]
            payload = ("".join(events) + "data: [DONE]\n\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
