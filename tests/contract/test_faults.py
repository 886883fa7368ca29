"""Provider faults against tests/fakellm, at the gateway: what is transient is retried, what is
the caller's fault never is, rate limits and dead models fall back, every attempt is recorded,
and the attempts of one call stay within retries + fallbacks + 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crewyard.errors import ModelError
from crewyard.gateway import CallRecord, Gateway
from crewyard.gateway.config import ModelTable
from tests.fakellm import FakeLLM, Reply

HI = [{"role": "user", "content": "hi"}]
BROKEN_TOOL_CALL = [
    {"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": "{2 +"}}
]


def gateway(
    tmp_path: Path,
    fake: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
    backup: dict[str, Any] | None = None,
    **primary: Any,
) -> Gateway:
    monkeypatch.setenv("FAKE_KEY", "fault-key-0000")
    base = {"api_base": fake.url, "api_key_env": "FAKE_KEY", "timeout": 5, "retry_backoff_s": 0}
    aliases = {
        "smart": {"model": "openai/primary-model", **base, "num_retries": 1, **primary},
        "standard": {"model": "openai/backup-model", **base, "num_retries": 0, **(backup or {})},
    }
    path = tmp_path / "models.yaml"
    path.write_text(json.dumps({"aliases": aliases}))
    return Gateway(ModelTable.load(path, env={}))


TRANSIENT = [
    Reply(status=429, error="slow down", headers={"Retry-After": "0"}),
    Reply(status=500, error="upstream exploded"),
    Reply(status=503, error="overloaded"),
    Reply(drop=True),
    Reply("too late", latency=1.5),
    Reply(""),  # an empty reply
    Reply(tool_calls=BROKEN_TOOL_CALL),  # invalid JSON in tool-call arguments
]
TRANSIENT_IDS = ["429", "500", "503", "connection-reset", "read-timeout", "empty", "bad-tool-json"]


@pytest.mark.parametrize("fault", TRANSIENT, ids=TRANSIENT_IDS)
def test_transient_faults_are_retried_and_each_attempt_recorded(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch, fault: Reply
) -> None:
    fakellm.add(fault, Reply("recovered"))
    calls: list[CallRecord] = []
    reply = (
        gateway(tmp_path, fakellm, monkeypatch, timeout=0.8)
        .for_run(on_record=calls.append)
        .complete("smart", HI)
    )
    assert reply.text == "recovered" and reply.attempts == 2
    assert len(fakellm.requests) == 2  # one try and one retry: never more than retries + 1
    assert [c.attempt for c in calls] == [1, 2]
    assert calls[0].error and calls[1].error is None
    if fault.text == "too late" or fault.drop or fault.status != 200:
        return
    # the provider answered (and charged) before the reply proved unusable: tokens recorded
    assert calls[0].completion_tokens > 0
    assert ("empty reply" if not fault.tool_calls else "invalid JSON") in (calls[0].error or "")


@pytest.mark.parametrize("status", [400, 422])
def test_callers_faults_are_neither_retried_nor_fallen_back(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    fakellm.add(Reply(status=status, error=f"bad request {status}"))
    calls: list[CallRecord] = []
    gw = gateway(tmp_path, fakellm, monkeypatch, fallbacks=["standard"])
    with pytest.raises(ModelError, match=f"bad request {status}") as info:
        gw.for_run(on_record=calls.append).complete("smart", HI)
    assert len(fakellm.requests) == 1
    assert info.value.alias == "smart" and calls[0].error


def test_a_bad_key_is_not_retried_but_falls_back(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(Reply(status=401, error="invalid api key"), Reply("from the backup"))
    calls: list[CallRecord] = []
    gw = gateway(tmp_path, fakellm, monkeypatch, num_retries=3, fallbacks=["standard"])
    assert gw.for_run(on_record=calls.append).complete("smart", HI).text == "from the backup"
    assert [r["model"] for r in fakellm.requests] == ["primary-model", "backup-model"]
    assert "fell back from smart" in (calls[-1].note or "")


def test_rate_limit_goes_straight_to_the_fallback(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(
        Reply(status=429, error="slow down", headers={"Retry-After": "0"}), Reply("from the backup")
    )
    calls: list[CallRecord] = []
    gw = gateway(tmp_path, fakellm, monkeypatch, num_retries=2, fallbacks=["standard"])
    reply = gw.for_run(on_record=calls.append).complete("smart", HI)
    assert reply.text == "from the backup" and reply.alias == "standard"
    # retries left on smart are not spent against a rate limit when a fallback exists
    assert [r["model"] for r in fakellm.requests] == ["primary-model", "backup-model"]
    assert [(c.alias, c.attempt, bool(c.error)) for c in calls] == [
        ("smart", 1, True),
        ("standard", 2, False),
    ]


def test_rate_limit_without_fallback_waits_for_retry_after(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(Reply(status=429, error="slow down", headers={"Retry-After": "0.3"}), Reply("ok"))
    gw = gateway(tmp_path, fakellm, monkeypatch)
    waits: list[float] = []
    monkeypatch.setattr(
        gw.stopping, "sleep", waits.append
    )  # the gateway's waits (Ctrl-C ends them)
    assert gw.complete("smart", HI).text == "ok"
    assert [w for w in waits if w] == [pytest.approx(0.3)]


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
    assert "model alias 'smart'" in text and "all 2 attempts failed" in text
    assert "1. smart (openai/primary-model): InternalServerError: primary down" in text
    assert "2. standard (openai/backup-model): InternalServerError: backup down" in text


def test_a_call_that_finds_its_alias_cooling_says_so_and_names_who_failed(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(*[Reply(status=500, error=f"down {n}") for n in range(3)])
    gw = gateway(
        tmp_path,
        fakellm,
        monkeypatch,
        num_retries=0,
        fallbacks=["standard"],
        allowed_fails=1,
        cooldown_s=60,
    )
    with pytest.raises(ModelError):
        gw.complete("smart", HI)  # both fail; smart cools down
    with pytest.raises(ModelError) as info:
        gw.complete("smart", HI)  # smart is skipped, standard fails
    text = str(info.value)
    assert (
        "all 1 attempt failed: 1. standard (openai/backup-model): InternalServerError: down 2"
        in (text)
    )
    assert "skipped smart (cooling down for" in text


@pytest.mark.parametrize("retries", [0, 1, 3])
def test_attempts_never_exceed_retries_plus_fallbacks_plus_one(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch, retries: int
) -> None:
    fakellm.add(*[Reply(status=503, error="down")] * (retries + 2))
    calls: list[CallRecord] = []
    gw = gateway(tmp_path, fakellm, monkeypatch, num_retries=retries, fallbacks=["standard"])
    with pytest.raises(ModelError):
        gw.for_run(on_record=calls.append).complete("smart", HI)
    assert len(fakellm.requests) == len(calls) == retries + 1 + 1
    assert [c.attempt for c in calls] == list(range(1, retries + 3))


def test_an_alias_that_keeps_failing_cools_down(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(Reply(status=500, error="down"), Reply("backup 1"), Reply("backup 2"))
    gw = gateway(
        tmp_path,
        fakellm,
        monkeypatch,
        num_retries=0,
        fallbacks=["standard"],
        allowed_fails=1,
        cooldown_s=60,
    )
    assert gw.complete("smart", HI).text == "backup 1"
    calls: list[CallRecord] = []
    assert gw.for_run(on_record=calls.append).complete("smart", HI).text == "backup 2"
    # the second call did not try the cooling primary at all
    assert [r["model"] for r in fakellm.requests] == ["primary-model", "backup-model"] * 1 + [
        "backup-model"
    ]
    assert "skipped smart (cooling down" in (calls[0].note or "")


def test_known_models_are_priced_from_litellms_price_list(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(Reply("priced", prompt_tokens=1000, completion_tokens=500))
    gw = gateway(tmp_path, fakellm, monkeypatch, model="openai/gpt-4o-mini")
    reply = gw.complete("smart", HI)
    # gpt-4o-mini in LiteLLM's bundled price list: $0.15 / $0.60 per million tokens
    assert reply.cost_usd == pytest.approx(1000 * 0.15e-6 + 500 * 0.60e-6)
