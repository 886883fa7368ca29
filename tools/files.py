"""The workspace file tools: read_file, write_file, list_files, search_files. Each reaches only
the run's outputs folder and the folders the crew declares (tools/workspace.py), with size caps."""

from __future__ import annotations

import fnmatch
import re

from pydantic import BaseModel, ConfigDict, Field

from crewyard.tools.spec import Tool, ToolFactory, function_tool
from crewyard.tools.workspace import (
    LIST_CAP,
    READ_CAP,
    SEARCH_CAP,
    WRITE_CAP,
    OutsideWorkspace,
    ToolEnv,
)


class NoOptions(BaseModel):
    """The tool takes no options."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ReadOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_bytes: int = Field(default=READ_CAP, ge=1, le=READ_CAP, description="Most bytes read.")


def _read(env: ToolEnv, options: ReadOptions) -> Tool:
    space = env.workspace()

    def read_file(path: str) -> str:
        """Read a text file of the workspace (the run's outputs folder and the crew's declared
        folders), e.g. docs/intro.md."""
        try:
            real = space.resolve(path)
        except OutsideWorkspace as exc:
            return f"error: {exc}"
        if not real.is_file():
            return f"error: no file {path!r} in the workspace"
        with real.open("rb") as f:
            data = f.read(options.max_bytes + 1)
        text = data[: options.max_bytes].decode("utf-8", errors="replace")
        if len(data) > options.max_bytes:
            text += f"\n[truncated at {options.max_bytes} bytes]"
        return text

    return function_tool(read_file)


def _write(env: ToolEnv, options: NoOptions) -> Tool:
    space = env.workspace()

    def write_file(path: str, content: str) -> str:
        """Write text to a file of the run's outputs folder (e.g. notes/summary.md),
        replacing it if it exists."""
        data = content.encode()
        if len(data) > WRITE_CAP:
            return f"error: content is {len(data)} bytes; at most {WRITE_CAP} may be written"
        try:
            real = space.resolve(path, write=True)
        except OutsideWorkspace as exc:
            return f"error: {exc}"
        if real.is_dir():
            return f"error: {path!r} is a folder"
        real.parent.mkdir(parents=True, exist_ok=True)
        space.resolve(path, write=True)  # the folders made cannot lead out either
        real.write_bytes(data)
        return f"wrote {len(data)} bytes to {space.label(real)}"

    return function_tool(write_file)


def _list(env: ToolEnv, options: NoOptions) -> Tool:
    space = env.workspace()

    def list_files(path: str = ".", pattern: str = "*") -> str:
        """List the files under a workspace folder ("." is the run's outputs folder; the crew's
        declared folders by name), optionally only names matching a pattern like *.md."""
        try:
            real = space.resolve(path)
        except OutsideWorkspace as exc:
            return f"error: {exc}"
        if not real.is_dir():
            return f"error: no folder {path!r} in the workspace"
        names: list[str] = []
        for found in sorted(real.rglob("*")):
            if len(names) >= LIST_CAP:
                names.append(f"[stopped at {LIST_CAP} files]")
                break
            if found.is_file() and fnmatch.fnmatch(found.name, pattern):
                try:
                    inside = space.resolve(space.label(found))
                except OutsideWorkspace:
                    continue  # a symlink that leads out is not listed
                names.append(space.label(inside))
        return "\n".join(names) if names else "no files"

    return function_tool(list_files)


def _search(env: ToolEnv, options: NoOptions) -> Tool:
    space = env.workspace()

    def search_files(query: str, path: str = ".") -> str:
        """Find the lines containing query (case-insensitive) in the text files under a
        workspace folder; answers path:line: text."""
        try:
            real = space.resolve(path)
        except OutsideWorkspace as exc:
            return f"error: {exc}"
        files = [real] if real.is_file() else sorted(p for p in real.rglob("*") if p.is_file())
        wanted = re.compile(re.escape(query), re.IGNORECASE)
        hits: list[str] = []
        for found in files:
            try:
                inside = space.resolve(space.label(found))
                with inside.open("rb") as f:
                    text = f.read(READ_CAP).decode("utf-8", errors="replace")
            except (OutsideWorkspace, OSError):
                continue
            for number, line in enumerate(text.splitlines(), 1):
                if wanted.search(line):
                    hits.append(f"{space.label(inside)}:{number}: {line.strip()[:200]}")
                    if len(hits) >= SEARCH_CAP:
                        return "\n".join([*hits, f"[stopped at {SEARCH_CAP} matches]"])
        return "\n".join(hits) if hits else f"no line contains {query!r}"

    return function_tool(search_files)


FILE_TOOLS = [
    ToolFactory("read_file", "Read a workspace file.", ReadOptions, _read),
    ToolFactory("write_file", "Write a file of the outputs folder.", NoOptions, _write),
    ToolFactory("list_files", "List workspace files.", NoOptions, _list),
    ToolFactory("search_files", "Search workspace files.", NoOptions, _search),
]
