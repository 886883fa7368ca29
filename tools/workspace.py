"""Where the file tools may reach: the run's outputs folder, plus the folders the crew declares
(`workspace: {folders: [docs]}` in crew.yaml). A path is relative; one that starts with a
declared folder's name is inside that folder of the crew, any other is inside the outputs
folder. Absolute paths, `..` and symlinks that lead out are refused (resolved, then checked)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

READ_CAP = 256 * 1024  # bytes read_file returns at most
WRITE_CAP = 1024 * 1024  # bytes write_file writes at most
LIST_CAP = 200  # entries list_files returns at most
SEARCH_CAP = 50  # matching lines search_files returns at most


class OutsideWorkspace(ValueError):
    """A path the tools may not touch; the message says why and is read by the agent."""


@dataclass(frozen=True)
class ToolEnv:
    """What the tools of one crew may reach. output_dir is None when the crew is only loaded
    (checked, dry-run), not run."""

    crew_dir: Path
    output_dir: Path | None = None
    folders: tuple[str, ...] = ()
    writable: bool = False
    web_allow: tuple[str, ...] = ()
    web_max_bytes: int = 512 * 1024
    web_timeout_s: float = 10.0
    extra: dict[str, object] = field(default_factory=dict)

    def workspace(self) -> Workspace:
        out = self.output_dir if self.output_dir is not None else self.crew_dir / ".outputs"
        return Workspace(
            out, {f.strip("/"): self.crew_dir / f for f in self.folders}, self.writable
        )


@dataclass(frozen=True)
class Workspace:
    """The roots a run's file tools may use: output_dir, and the crew's declared folders."""

    output_dir: Path
    folders: dict[str, Path]  # first path part → the crew's folder
    writable: bool = False

    def roots(self) -> list[tuple[str, Path]]:
        """(label, folder) of every root: "" is the outputs folder."""
        return [("", self.output_dir), *self.folders.items()]

    def resolve(self, path: str, *, write: bool = False) -> Path:
        """The real file a workspace path names, or OutsideWorkspace saying why not."""
        text = str(path).strip()
        if (
            PurePosixPath(text).is_absolute()
            or PureWindowsPath(text).is_absolute()
            or (PureWindowsPath(text).drive)
        ):
            raise OutsideWorkspace(f"{path!r} is an absolute path; use a path like {self.hint()}")
        parts = [p for p in PurePosixPath(text.replace("\\", "/")).parts if p not in ("", ".")]
        if ".." in parts:
            raise OutsideWorkspace(f"{path!r} contains '..'; use a path like {self.hint()}")
        if parts and parts[0] in self.folders:
            if write and not self.writable:
                raise OutsideWorkspace(
                    f"{parts[0]}/ is read-only; write into the outputs folder (a path like "
                    "notes.md)"
                )
            root, rest = self.folders[parts[0]], parts[1:]
        else:
            root, rest = self.output_dir, parts
        real_root = root.resolve()
        real = real_root.joinpath(*rest).resolve()
        if real != real_root and real_root not in real.parents:
            raise OutsideWorkspace(f"{path!r} leads outside the workspace (a symlink)")
        return real

    def label(self, real: Path) -> str:
        """The workspace path of a real file (what the agent should write to name it)."""
        for name, root in sorted(self.roots(), key=lambda r: -len(r[0])):
            base = root.resolve()
            if real == base or base in real.parents:
                rel = real.relative_to(base).as_posix()
                if rel == ".":
                    return name or "."
                return f"{name}/{rel}" if name else rel
        return real.name

    def unlabel(self, text: str) -> str:
        """text with every root's real path written as its workspace path (for tools that
        answer with absolute paths)."""
        for name, root in sorted(self.roots(), key=lambda r: -len(str(r[1].resolve()))):
            base = str(root.resolve())
            text = text.replace(base + os.sep, f"{name}/" if name else "").replace(
                base, name or "."
            )
        return text

    def hint(self) -> str:
        examples = ["report.md", *(f"{n}/…" for n in self.folders)]
        return " or ".join(examples)
