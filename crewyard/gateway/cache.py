"""Response cache on disk: a repeated deterministic request (temperature 0, same model, same
messages and options) is answered without calling the model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache

from crewyard.settings import usable_folder


class ResponseCache:
    def __init__(self, folder: Path) -> None:
        usable_folder(folder, "the response cache")
        self.folder = folder
        self._store = diskcache.Cache(str(folder))

    @staticmethod
    def key(model: str, api_base: str | None, request: dict[str, Any]) -> str:
        """The full request, with the alias replaced by the model it names."""
        body = {k: v for k, v in request.items() if k != "model"}
        raw = json.dumps(
            {"model": model, "api_base": api_base, **body}, sort_keys=True, default=str
        )
        return hashlib.sha256(raw.encode()).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._store.get(key)
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._store.set(key, value)

    def close(self) -> None:
        self._store.close()
