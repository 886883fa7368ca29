"""The run viewer's web app (Starlette): one page, served from package data, and a read-only
JSON API over the run store (the one write it makes is the store's own: a run whose process
died is marked interrupted, as any command opening the store does). Every request must carry
the token printed with the URL (the `token` query parameter, or `Authorization: Bearer
TOKEN`): none is a 401, a wrong one a 403.

Routes:
  GET  /                       the page (plain HTML, CSS and JS; no build step)
  GET  /api/runs               the recent runs: status, cost, duration (?limit=N, ?crew=NAME)
  GET  /api/runs/{id}          one run: summary, tasks, timeline items
  POST /api/runs/{id}/answer   answer a run waiting for input ({"text": "…"} or
                               {"default": true}) and resume it (501 when the viewer was made
                               without a way to answer)"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from crewyard.errors import ConfigError
from crewyard.runs.store import RunStore
from crewyard.ui.data import run_timeline, runs_list

MAX_LIMIT = 500
CHECK_S = 5.0  # how often a request looks for runs whose process died


def _asset(name: str) -> str:
    return resources.files("crewyard.ui").joinpath("static", name).read_text(encoding="utf-8")


def page(nonce: str) -> str:
    """index.html with its stylesheet and script inlined (the page needs no other request)."""
    html = _asset("index.html").replace("NONCE", nonce)
    html = html.replace("/*VIEWER_CSS*/", _asset("viewer.css"))
    return html.replace("//VIEWER_JS", _asset("viewer.js"))


Answer = Callable[[str, str | None], dict[str, Any]]  # (run id, text or None: default)


def create_app(
    store: RunStore, cassettes_dir: Path, token: str, answer_run: Answer | None = None
) -> Starlette:
    """The viewer over store; token: what every request must present; answer_run records an
    answer and resumes the run (None: the viewer takes no answers)."""

    checked = [0.0]

    def fresh() -> None:
        """Runs whose process died are marked interrupted, as opening the store does."""
        if time.monotonic() - checked[0] > CHECK_S:
            checked[0] = time.monotonic()
            store.mark_interrupted()

    def allowed(request: Request) -> Response | None:
        given = request.query_params.get("token")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        if not given:
            return _refused(401, "this viewer needs its token: open the URL `ui` printed")
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _refused(403, "wrong token: open the URL `python main.py ui` printed")
        return None

    async def index(request: Request) -> Response:
        if (refused := allowed(request)) is not None:
            return refused
        nonce = secrets.token_urlsafe(12)
        csp = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}';"
            " connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
        )
        return HTMLResponse(page(nonce), headers={**_HEADERS, "Content-Security-Policy": csp})

    async def runs(request: Request) -> Response:
        if (refused := allowed(request)) is not None:
            return refused
        try:
            limit = min(max(int(request.query_params.get("limit", "50")), 1), MAX_LIMIT)
        except ValueError:
            return _refused(400, "limit must be a whole number")
        crew = request.query_params.get("crew") or None
        await run_in_threadpool(fresh)
        found = await run_in_threadpool(runs_list, store, limit, crew)
        return _json({"runs": found})

    async def one_run(request: Request) -> Response:
        if (refused := allowed(request)) is not None:
            return refused
        run_id = request.path_params["run_id"]
        await run_in_threadpool(fresh)
        try:
            data = await run_in_threadpool(run_timeline, store, run_id, cassettes_dir)
        except ConfigError as exc:
            return _refused(404, str(exc))
        return _json(data)

    async def answer(request: Request) -> Response:
        if (refused := allowed(request)) is not None:
            return refused
        run_id = request.path_params["run_id"]
        if answer_run is None:
            hint = f"python main.py runs answer {run_id}"
            return _refused(501, f"this viewer takes no answers: {hint}")
        try:
            body = await request.json()
        except ValueError:
            return _refused(400, 'send JSON: {"text": "…"} or {"default": true}')
        text = body.get("text") if isinstance(body, dict) else None
        default = isinstance(body, dict) and body.get("default") is True
        if (text is None) == (not default) or (text is not None and not isinstance(text, str)):
            return _refused(400, 'send {"text": "…"} (a string) or {"default": true}')
        try:
            done = await run_in_threadpool(answer_run, run_id, text)
        except ConfigError as exc:
            return _refused(409, str(exc))
        return _json(done)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/runs", runs),
            Route("/api/runs/{run_id}", one_run),
            Route("/api/runs/{run_id}/answer", answer, methods=["POST"]),
        ]
    )


_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the page's URL
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _json(data: Any) -> Response:
    return JSONResponse(data, headers=_HEADERS)


def _refused(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status, headers=_HEADERS)
