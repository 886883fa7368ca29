"""Settings from CREWYARD_* environment variables (and .env, for the CLI), with paths that work
anywhere."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from crewyard.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
        default=PROJECT_ROOT / "crews", description="Folder holding one folder per crew."
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
