"""Memory embedders other than WordLlama: LiteLLM models through the gateway (against
tests/fakellm's embeddings endpoint), and fastembed's clear error when it is missing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from crewyard.errors import ConfigError
from crewyard.memory import open_memory
from crewyard.settings import Settings
from tests.fakellm import FakeLLM


def test_litellm_embedder_through_the_gateway(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_KEY", "embed-key-0000")
    models = tmp_path / "models.yaml"
    models.write_text(
        json.dumps(
            {
                "aliases": {
                    "embed": {
                        "model": "openai/text-embedding-3-small",
                        "api_base": fakellm.url,
                        "api_key_env": "FAKE_KEY",
                        "num_retries": 0,
                    }
                }
            }
        )
    )
    settings = Settings(data_dir=tmp_path / "data", models_file=models, embedder="litellm")
    store = open_memory(settings)
    assert (store.embedder.name, store.embedder.dim) == (
        "litellm/openai/text-embedding-3-small",
        32,
    )
    store.add_fact("sodium ion cells avoid lithium", crew="a", run_id="1")
    store.add_fact("bread needs flour and yeast", crew="a", run_id="1")
    best = store.search("which cells avoid lithium", scopes=("facts",), k=1)[0]
    assert best.text == "sodium ion cells avoid lithium"
    batch = [r for r in fakellm.embedding_requests if isinstance(r["input"], list)]
    assert batch and all(r["model"] == "text-embedding-3-small" for r in batch)


def test_fastembed_missing_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastembed", None)  # as on a machine without it
    settings = Settings(data_dir=tmp_path / "data", embedder="fastembed")
    with pytest.raises(ConfigError, match="fastembed is not installed") as info:
        open_memory(settings)
    assert "CREWYARD_EMBEDDER=wordllama" in (info.value.hint or "")
