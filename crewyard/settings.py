"""Settings from CREWYARD_* environment variables (and .env, for the CLI), then a project file
(crewyard.toml, or pyproject.toml's [tool.crewyard]) found from the working folder up, with
paths that work anywhere."""

from __future__ import annotations

import os
import threading
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from crewyard.errors import ConfigError, did_you_mean

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_FILE = "crewyard.toml"
# what a project file may set; each a path relative to the file
PROJECT_KEYS = ("crews_dir", "data_dir", "models_file")


def _default_crews_dir() -> Path:
    """The example crews: beside the package in a source checkout (or an editable install),
    else the copy installed inside the package."""
    beside = PROJECT_ROOT / "crews"
    return beside if beside.is_dir() else Path(__file__).resolve().parent / "crews"


def find_project_file(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest project file from start (default: the working folder) up to the root, as
    git and ruff find theirs — in each folder crewyard.toml first, then a pyproject.toml with a
    [tool.crewyard] table — with its crewyard keys; None when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / PROJECT_FILE
        if own.is_file():
            return own, _read_toml(own)
        pyproject = folder / "pyproject.toml"
        # only a pyproject.toml that mentions crewyard is read: another tool's broken one is
        # none of crewyard's business
        if pyproject.is_file() and "crewyard" in _text(pyproject):
            tool = _read_toml(pyproject).get("tool", {})
            if isinstance(tool, dict) and "crewyard" in tool:
                table = tool["crewyard"]
                if not isinstance(table, dict):
                    raise ConfigError(
                        "[tool.crewyard] must be a table of keys",
                        file=pyproject,
                        key="tool.crewyard",
                        hint='write [tool.crewyard] on a line of its own, then crews_dir = "crews"',
                    )
                return pyproject, table
    return None


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read it: {exc}", file=path, hint="make it a readable UTF-8 TOML file"
        ) from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"not valid TOML: {exc}",
            file=path,
            hint='write keys as crews_dir = "crews" (a quoted path, relative to this file)',
        ) from None


def project_paths(found: tuple[Path, dict[str, Any]]) -> dict[str, Path]:
    """The settings a project file gives, as absolute paths (relative ones are read from the
    file's folder). The data folder follows the project: FOLDER/.crewyard unless it says."""
    path, table = found
    prefix = "tool.crewyard." if path.name == "pyproject.toml" else ""
    values: dict[str, Path] = {"data_dir": path.parent / ".crewyard"}
    for key, value in table.items():
        if key not in PROJECT_KEYS:
            raise ConfigError(
                f"unknown key {key!r}",
                file=path,
                key=prefix + key,
                hint=did_you_mean(key, PROJECT_KEYS) or f"the keys are: {', '.join(PROJECT_KEYS)}",
            )
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"must be a path in quotes, not {value!r}",
                file=path,
                key=prefix + key,
                hint=f'write {key} = "…" (relative to {path.parent})',
            )
        values[key] = path.parent / Path(value).expanduser()
    return values


class _ProjectFile(PydanticBaseSettingsSource):
    """The project file's settings: below CREWYARD_* variables, above the defaults."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ gives them all at once

    def __call__(self) -> dict[str, Any]:
        found = find_project_file()
        return project_paths(found) if found is not None else {}


class Settings(BaseSettings):
    """Where crewyard keeps things and how loud it is. Every field: CREWYARD_<NAME>."""

    # .env is read by the command line only (Settings(_env_file=".env")): a program or notebook
    # that imports crewyard passes its settings, or sets CREWYARD_* itself.
    model_config = SettingsConfigDict(env_prefix="CREWYARD_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path(".crewyard"),
        description="Run store, logs, outputs and memory live here.",
    )
    crews_dir: Path = Field(
        default_factory=_default_crews_dir, description="Folder holding one folder per crew."
    )
    models_file: Path = Field(
        default=PROJECT_ROOT / "models.yaml", description="Model aliases (models.yaml)."
    )
    log_level: Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR"] = Field(
        default="INFO", description="Console log level (-v: DEBUG, -q: WARNING)."
    )
    progress: bool = Field(default=True, description="Show live progress on a terminal.")
    cache: bool = Field(
        default=True, description="Answer repeated temperature-0 requests from the disk cache."
    )
    stop_grace_s: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM, seconds a batch's or worker's runs under way may take to "
        "finish; what is left resumes later.",
    )
    record: bool = Field(
        default=True,
        description="Keep every run's model requests and replies as a cassette, so that a "
        "killed run resumes without paying for a call twice (and can be replayed).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Settings(...) > CREWYARD_* (.env) > crewyard.toml / [tool.crewyard] > defaults
        project = _ProjectFile(settings_cls)
        return init_settings, env_settings, dotenv_settings, project, file_secret_settings

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def cassettes_dir(self) -> Path:
        """Each recorded run writes <run_id>.jsonl here; --replay and --resume read it."""
        return self.data_dir / "cassettes"

    embedder: Literal["wordllama", "litellm", "fastembed"] = Field(
        default="wordllama",
        description="Memory embedder: WordLlama (offline), the `embed` alias of models.yaml "
        "through LiteLLM, or fastembed (if installed).",
    )
    fastembed_model: str = Field(default="BAAI/bge-small-en-v1.5", description="fastembed model.")
    memory_wait_s: float = Field(
        default=30.0,
        ge=0,
        description="Seconds to wait for another process that holds the embedded memory.",
    )
    memory_backend: str = Field(
        default="qdrant",
        description="The shared memory's backend: qdrant (built in: a server when QDRANT_URL "
        "is set, else embedded on disk), or one a plugin registers.",
    )

    @classmethod
    def for_command_line(cls) -> Settings:
        """The command line's settings: it reads .env from the working folder into the
        environment first (provider keys for LiteLLM, CREWYARD_* for these settings); the
        library never does."""
        from crewyard.environ import load_dotenv_file

        load_dotenv_file()
        return cls()

    database_url: str | None = Field(
        default=None,
        repr=False,  # it may hold a password
        description="Postgres (postgresql://user@host:5432/db) shared by workers on many "
        "machines, for the run store and the durable engine; unset: SQLite in the data folder.",
    )

    @field_validator("database_url")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @property
    def runs_db(self) -> Path:
        """The run store's SQLite file (used when database_url is unset)."""
        return self.data_dir / "runs.sqlite3"

    @property
    def run_store(self) -> Path | str:
        """Where the run store lives, the one place that decides: database_url if set, else
        SQLite at runs_db. RunStore(...) and BatchStore(...) take either."""
        return self.database_url or self.runs_db

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"


def usable_folder(path: Path, what: str, key: str = "CREWYARD_DATA_DIR") -> Path:
    """path as a folder crewyard can write in (made if missing), or a ConfigError saying which
    folder, why not, and what to do: a file in its place, no permission, a read-only disk."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        # a name of its own: threads and processes may probe the same folder at once
        probe = path / f".crewyard-probe-{os.getpid()}-{threading.get_ident()}-{id(path)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if path.exists() and not path.is_dir():
            reason = "it is a file, not a folder"
        elif any(p.exists() and not p.is_dir() for p in path.parents):
            reason = "a file stands where one of its parent folders should be"
        raise ConfigError(
            f"{what} {path} cannot be used: {reason}",
            key=key,
            hint=f"point {key} at a folder you can write in, or move aside what is in the way",
        ) from None
    return path
