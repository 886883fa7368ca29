"""Provider faults against tests/fakellm: the gateway retries what is transient, never what
is the caller's fault, falls back to other aliases, and says what it tried."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.errors import ModelError
from crewyard.gateway import CallRecord, Gateway
from crewyard.models_config import ModelTable
from tests.fakellm import FakeLLM, Reply

HI = [{"role": "user", "content": "hi"}]


def gateway(
    tmp_path: Path, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, **primary: Any
) -> Gateway:
    monkeypatch.setenv("FAKE_KEY", "fault-key-0000")
    base = {"api_base": fake.url, "api_key_env": "FAKE_KEY", "timeout": 5}
    aliases = {
        "smart": {"model": "openai/primary-model", **base, "num_retries": 1, **primary},
        "standard": {"model": "openai/backup-model", **base, "num_retries": 0},
    }
    path = tmp_path / "models.yaml"
    path.write_text(json.dumps({"aliases": aliases}))
    return Gateway(ModelTable.load(path, env={}))


@pytest.mark.parametrize(
    "fault",
    [
        Reply(status=429, error="slow down", headers={"Retry-After": "0"}),
        Reply(status=500, error="upstream exploded"),
        Reply(status=503, error="overloaded"),
        Reply(drop=True),
        Reply("too late", latency=1.5),
    ],
    ids=["429", "500", "503", "connection-reset", "read-timeout"],
)
def test_transient_faults_are_retried(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch, fault: Reply
) -> None:
    fakellm.add(fault, Reply("recovered"))
    calls: list[CallRecord] = []
    reply = gateway(tmp_path, fakellm, monkeypatch, timeout=0.8).complete(
        "smart", HI, on_call=calls.append
    )
    assert reply.text == "recovered"
    assert len(fakellm.requests) == 2  # one try and one retry: never more than retries + 1
    assert [c.error for c in calls] == [None]


@pytest.mark.parametrize("status", [400, 401, 422])
def test_callers_faults_are_not_retried(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    fakellm.add(Reply(status=status, error=f"bad request {status}"))
    calls: list[CallRecord] = []
    with pytest.raises(ModelError, match=f"bad request {status}") as info:
        gateway(tmp_path, fakellm, monkeypatch).complete("smart", HI, on_call=calls.append)
    assert len(fakellm.requests) == 1
    assert info.value.alias == "smart" and calls[0].error


def test_rate_limited_alias_falls_back(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(
        Reply(status=429, error="slow down", headers={"Retry-After": "0"}), Reply("from the backup")
    )
    reply = gateway(tmp_path, fakellm, monkeypatch, num_retries=0, fallbacks=["standard"]).complete(
        "smart", HI
    )
    assert reply.text == "from the backup"
    assert [r["model"] for r in fakellm.requests] == ["primary-model", "backup-model"]


def test_all_models_down_says_what_was_tried(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(Reply(status=500, error="primary down"), Reply(status=500, error="backup down"))
    with pytest.raises(ModelError) as info:
        gateway(tmp_path, fakellm, monkeypatch, num_retries=0, fallbacks=["standard"]).complete(
            "smart", HI
        )
    assert len(fakellm.requests) == 2  # retries (0) + fallbacks (1) + 1
    text = str(info.value)
    assert "model alias 'smart'" in text
    assert "primary down" in text and "Fallback to standard also failed" in text
    assert "backup down" in text
