"""web_fetch (off unless the crew lists hosts: `web: {allow: [...]}`) and python_run (the
sandbox of tools/sandbox.py)."""

from __future__ import annotations

import itertools
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from crewyard.tools.sandbox import SandboxLimits, run_python
from crewyard.tools.spec import Tool, ToolFactory, function_tool
from crewyard.tools.workspace import ToolEnv


class WebOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect could lead to a host not allowed: it is reported instead


def _web(env: ToolEnv, options: WebOptions) -> Tool:
    allowed = {h.lower() for h in env.web_allow}
    opener = urllib.request.build_opener(_NoRedirect)

    def web_fetch(url: str) -> str:
        """Fetch a web page (http or https) from a host the crew allows; answers its text."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return f"error: only http and https URLs may be fetched, not {parts.scheme!r}"
        host = (parts.hostname or "").lower()
        if host not in allowed:
            return f"error: host {host!r} is not allowed; allowed: {', '.join(sorted(allowed))}"
        request = urllib.request.Request(url, headers={"User-Agent": "crewyard-web-fetch"})
        try:
            with opener.open(request, timeout=env.web_timeout_s) as response:
                data = response.read(env.web_max_bytes + 1)
                charset = str(response.headers.get_content_charset() or "utf-8")
        except urllib.error.HTTPError as exc:
            return f"error: {url} answered HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"error: could not fetch {url}: {exc}"
        text: str = bytes(data[: env.web_max_bytes]).decode(charset, errors="replace")
        if len(data) > env.web_max_bytes:
            text += f"\n[truncated at {env.web_max_bytes} bytes]"
        return text

    return function_tool(web_fetch)


def _web_problem(env: ToolEnv) -> str | None:
    if not env.web_allow:
        return "web_fetch is off: the crew allows no hosts"
    return None


class PythonOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(default=10.0, gt=0, le=300, description="Seconds per program.")
    memory_mb: int = Field(default=512, ge=64, le=8192, description="Memory per program.")


def _python(env: ToolEnv, options: PythonOptions) -> Tool:
    counter = itertools.count(1)
    limits = SandboxLimits(timeout_s=options.timeout_s, memory_mb=options.memory_mb)

    def python_run(code: str) -> str:
        """Run a Python program in a sandbox (no network, time and memory limits); answers
        what it printed."""
        base = env.output_dir if env.output_dir is not None else env.crew_dir / ".outputs"
        result = run_python(code, base / "python_run" / str(next(counter)), limits)
        out = (result.stdout + result.stderr).strip() or "(no output)"
        if result.killed_by:
            out += f"\n[stopped: {result.killed_by}]"
        return out if result.ok else f"error: the program failed\n{out}"

    return function_tool(python_run)


NET_TOOLS = [
    ToolFactory("web_fetch", "Fetch a page of an allowed host.", WebOptions, _web, _web_problem),
    ToolFactory("python_run", "Run Python in the sandbox.", PythonOptions, _python),
]
