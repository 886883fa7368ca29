"""Tool references (a name or {name, args}), the crew's own tools.py, the workspace file tools
(no absolute path, no `..`, no symlink out, size caps), web_fetch against a local server,
python_run, and tool selection with a fake embedder."""

from __future__ import annotations

import http.server
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crewyard.crews.loader import load_crew
from crewyard.crews.tooling import run_tools
from crewyard.errors import ConfigError
from crewyard.tools import Tool
from crewyard.tools.refs import ToolRef
from crewyard.tools.selection import select
from crewyard.tools.workspace import READ_CAP, WRITE_CAP

AGENT = {"role": "Reader", "goal": "g", "backstory": "b"}
TASK = {"description": "Read the docs", "expected_output": "a summary", "agent": "a"}
FILE_TOOLS = ("read_file", "write_file", "list_files", "search_files")


def crew_with(make_crew: Any, tools: list[Any], **crew: Any) -> Path:
    folder: Path = make_crew(agents={"a": {**AGENT, "tools": tools}}, tasks={"t": TASK}, crew=crew)
    return folder


def error_of(crews_dir: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_crew("demo", crews_dir)
    return info.value


def test_a_tool_is_a_name_or_a_name_with_args(make_crew: Any, crews_dir: Path) -> None:
    crew_with(make_crew, ["calculator", {"name": "read_file", "args": {"max_bytes": 10}}])
    spec = load_crew("demo", crews_dir)
    with_args = ToolRef(name="read_file", args={"max_bytes": 10})
    assert spec.agents["a"].tools == ("calculator", with_args)


def test_unknown_tool_and_bad_args_point_at_their_line(make_crew: Any, crews_dir: Path) -> None:
    crew_with(make_crew, ["calculator", "read_fil"])
    err = error_of(crews_dir)
    assert "unknown tool 'read_fil'" in err.message and err.key == "a.tools.1"
    assert "read_file" in (err.hint or "")
    assert err.line is not None

    crew_with(make_crew, [{"name": "read_file", "args": {"max_byte": 1}}])
    err = error_of(crews_dir)
    assert "bad args for read_file" in err.message and err.key == "a.tools.0"
    assert "max_bytes" in (err.hint or "")

    crew_with(make_crew, [{"name": "calculator", "args": {"x": 1}}])
    assert "takes no args" in error_of(crews_dir).message


def test_web_fetch_is_off_unless_hosts_are_allowed(make_crew: Any, crews_dir: Path) -> None:
    crew_with(make_crew, ["web_fetch"])
    err = error_of(crews_dir)
    assert "web_fetch is off" in err.message and "web:" in (err.hint or "")


def test_crew_tools_py_is_imported_only_when_named_and_privately(
    make_crew: Any, crews_dir: Path
) -> None:
    folder = crew_with(make_crew, ["calculator"])
    (folder / "tools.py").write_text(
        "from crewyard.tools import tool\n"
        "import pathlib\n"
        "pathlib.Path(__file__).with_name('imported').touch()\n"
        "@tool\ndef shout(text: str) -> str:\n    '''Upper-case text.'''\n    return text.upper()\n"
    )
    path_before = list(sys.path)
    load_crew("demo", crews_dir)
    assert not (folder / "imported").exists()  # not named: never imported

    crew_with(make_crew, ["shout"])
    spec = load_crew("demo", crews_dir)
    tools = run_tools(spec, folder / "out")
    assert tools["shout"].call(text="hi") == "HI"
    assert sys.path == path_before
    assert not any(m == "tools" or m.startswith("tools.") for m in sys.modules)
    assert any(m.startswith("_crewyard_tools_demo_") for m in sys.modules)


def test_crew_tools_py_leading_outside_the_crew_is_refused(
    make_crew: Any, crews_dir: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text("raise SystemExit('imported')\n")
    folder = crew_with(make_crew, ["shout"])
    (folder / "tools.py").symlink_to(outside)
    err = error_of(crews_dir)
    assert "outside the crew's folder" in err.message and err.key == "a.tools.0"


@pytest.fixture
def files(make_crew: Any, crews_dir: Path, tmp_path: Path) -> tuple[dict[str, Tool], Path]:
    workspace = {"folders": ["docs"], "writable": True}  # so writes reach the symlinks too
    folder = crew_with(make_crew, list(FILE_TOOLS), workspace=workspace)
    (folder / "docs").mkdir()
    (folder / "docs" / "intro.md").write_text("Tides follow the moon.\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("the moon is cheese")
    (folder / "docs" / "leak.txt").symlink_to(secret)
    (folder / "docs" / "out").symlink_to(tmp_path)
    (folder / "crew_secret.txt").write_text("moon api key")
    out = tmp_path / "outputs" / "run1"
    out.mkdir(parents=True)
    return run_tools(load_crew("demo", crews_dir), out), out


@pytest.mark.parametrize("tool", FILE_TOOLS)
@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/etc/passwd", "absolute"),
        ("../secret.txt", "'..'"),
        ("docs/../../crew_secret.txt", "'..'"),
        ("docs/leak.txt", "outside the workspace"),
        ("docs/out/secret.txt", "outside the workspace"),
    ],
)
def test_every_file_tool_refuses_paths_that_lead_out(
    files: tuple[dict[str, Tool], Path], tool: str, path: str, why: str
) -> None:
    tools, _ = files
    args = {"path": path}
    if tool == "write_file":
        args["content"] = "x"
    if tool == "search_files":
        args["query"] = "moon"
    answer = tools[tool].call(**args)
    assert answer.startswith("error:") and why in answer, answer
    assert "cheese" not in answer and "api key" not in answer


def test_file_tools_work_inside_the_workspace(files: tuple[dict[str, Tool], Path]) -> None:
    tools, out = files
    assert tools["read_file"].call(path="docs/intro.md") == "Tides follow the moon.\n"
    assert tools["write_file"].call(path="notes/a.md", content="moon notes") == (
        "wrote 10 bytes to notes/a.md"
    )
    assert (out / "notes" / "a.md").read_text() == "moon notes"
    listed = tools["list_files"].call(path="docs").splitlines()
    assert listed == ["docs/intro.md"]  # the symlinks that lead out are not listed
    hits = tools["search_files"].call(query="MOON", path=".")
    assert hits == "notes/a.md:1: moon notes"
    assert tools["search_files"].call(query="moon", path="docs") == (
        "docs/intro.md:1: Tides follow the moon."
    )


def test_declared_folders_are_read_only_unless_writable(
    make_crew: Any, crews_dir: Path, tmp_path: Path
) -> None:
    folder = crew_with(make_crew, ["write_file"], workspace={"folders": ["docs"]})
    (folder / "docs").mkdir()
    write = run_tools(load_crew("demo", crews_dir), tmp_path)["write_file"]
    assert "read-only" in write.call(path="docs/new.md", content="x")
    assert not (folder / "docs" / "new.md").exists()
    assert write.call(path="new.md", content="x") == "wrote 1 bytes to new.md"


def test_workspace_folders_must_be_folders_of_the_crew(make_crew: Any, crews_dir: Path) -> None:
    crew_with(make_crew, ["read_file"], workspace={"folders": ["../other"]})
    err = error_of(crews_dir)
    assert "workspace folder '../other'" in err.message and err.key == "workspace.folders.0"
    crew_with(make_crew, ["read_file"], workspace={"folders": ["missing"]})
    assert "does not exist" in error_of(crews_dir).message


def test_file_tools_cap_sizes(files: tuple[dict[str, Tool], Path]) -> None:
    tools, out = files
    (out / "big.txt").write_bytes(b"a" * (READ_CAP + 10))
    text = tools["read_file"].call(path="big.txt")
    assert text == "a" * READ_CAP + f"\n[truncated at {READ_CAP} bytes]"
    too_big = tools["write_file"].call(path="x.txt", content="b" * (WRITE_CAP + 1))
    assert too_big.startswith("error:") and not (out / "x.txt").exists()


@pytest.fixture
def local_site() -> Iterator[str]:
    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"x" * 5000 if self.path == "/big" else b"hello from the tide table"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_web_fetch_only_from_allowed_hosts_with_a_size_cap(
    make_crew: Any, crews_dir: Path, tmp_path: Path, local_site: str
) -> None:
    crew_with(make_crew, ["web_fetch"], web={"allow": ["127.0.0.1"], "max_bytes": 1000})
    fetch = run_tools(load_crew("demo", crews_dir), tmp_path)["web_fetch"]
    assert fetch.call(url=f"http://{local_site}/") == "hello from the tide table"
    big = fetch.call(url=f"http://{local_site}/big")
    assert big == "x" * 1000 + "\n[truncated at 1000 bytes]"
    port = local_site.split(":")[1]
    assert "not allowed" in fetch.call(url=f"http://localhost:{port}/")
    assert "only http and https" in fetch.call(url="file:///etc/passwd")


def test_python_run_goes_through_the_sandbox(
    make_crew: Any, crews_dir: Path, tmp_path: Path
) -> None:
    crew_with(make_crew, [{"name": "python_run", "args": {"timeout_s": 20}}])
    run = run_tools(load_crew("demo", crews_dir), tmp_path)["python_run"]
    assert run.call(code="print(6 * 7)") == "42"
    assert run.call(code="raise SystemExit(3)").startswith("error: the program failed")


class FakeEmbedder:
    """Vectors by keyword: a text about files points one way, about the web another."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        def vector(text: str) -> list[float]:
            t = text.lower()
            return [float("file" in t), float("web" in t or "page" in t), float("arithmetic" in t)]

        return [vector(t) for t in texts]


def test_selection_keeps_the_tools_most_like_the_task(
    make_crew: Any, crews_dir: Path, tmp_path: Path
) -> None:
    crew_with(make_crew, [*FILE_TOOLS, "calculator"], web={"allow": ["example.org"]})
    tools = list(run_tools(load_crew("demo", crews_dir), tmp_path).values())
    chosen, scores = select(tools, "Read the file docs/intro.md", 2, FakeEmbedder())
    assert [t.name for t in chosen] == ["read_file", "write_file"]
    assert len(scores) == len(tools)
    chosen, _ = select(tools, "do some arithmetic", 1, FakeEmbedder())
    assert [t.name for t in chosen] == ["calculator"]
    assert select(tools, "anything", 8, FakeEmbedder()) == (tools, [])
