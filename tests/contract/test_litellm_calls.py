"""How the gateway calls LiteLLM (gateway/router.py): a reply LiteLLM could not price is not
priced again, and each call is one request, sync or async."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from crewyard.gateway import Gateway
from crewyard.gateway import router as litellm_seam
from crewyard.gateway.config import ModelTable
from tests.fakellm import FakeLLM, Reply

HI = [{"role": "user", "content": "hi"}]


def gateway(tmp_path: Path, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    monkeypatch.setenv("FAKE_KEY", "seam-key-0000")
    alias = {"model": "openai/unpriced-model", "api_base": fake.url, "api_key_env": "FAKE_KEY"}
    path = tmp_path / "models.yaml"
    path.write_text(json.dumps({"aliases": {"standard": {**alias, "timeout": 5}}}))
    return Gateway(ModelTable.load(path, env={}))


def test_a_reply_litellm_could_not_price_is_not_priced_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    priced: list[object] = []

    def again(completion_response: object) -> float:
        priced.append(completion_response)
        return 0.5

    monkeypatch.setattr(litellm_seam.litellm, "completion_cost", again)
    unpriced = SimpleNamespace(_hidden_params={"response_cost": None})
    assert litellm_seam._price(unpriced) == 0.0
    assert litellm_seam._price(SimpleNamespace(_hidden_params={"response_cost": 0.25})) == 0.25
    assert priced == []
    never = SimpleNamespace(_hidden_params={})  # LiteLLM never tried: price it here
    assert litellm_seam._price(never) == 0.5 and priced == [never]


def test_unpriced_calls_are_free_sync_and_async(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    fakellm.add(Reply("one", prompt_tokens=7, completion_tokens=3), "two")
    gw = gateway(tmp_path, fakellm, monkeypatch)
    first = gw.complete("standard", HI)
    second = asyncio.run(gw.for_run().acomplete("standard", HI))
    assert (first.text, first.prompt_tokens, first.completion_tokens) == ("one", 7, 3)
    assert second.text == "two" and first.cost_usd == second.cost_usd == 0.0
    assert len(fakellm.requests) == 2  # one request per call: no retries inside LiteLLM


def test_a_model_litellm_does_not_know_is_looked_up_as_known_and_still_reported_the_same(
    tmp_path: Path, fakellm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = f"openai/never-seen-{tmp_path.name}"  # unknown to LiteLLM in this process
    monkeypatch.setenv("FAKE_KEY", "seam-key-0000")
    alias = {"model": model, "api_base": fakellm.url, "api_key_env": "FAKE_KEY", "timeout": 5}
    path = tmp_path / "models.yaml"
    path.write_text(json.dumps({"aliases": {"standard": alias}}))
    gw = Gateway(ModelTable.load(path, env={}))
    with pytest.raises(Exception):  # noqa: B017 — LiteLLM's own "not mapped" error
        litellm_seam.litellm.get_model_info(model)
    before = (gw.context_window("standard"), gw.model_info("standard"))
    fakellm.add(Reply("one", prompt_tokens=7, completion_tokens=3), "two")
    first = gw.complete("standard", HI)
    second = asyncio.run(gw.for_run().acomplete("standard", HI))
    # each of LiteLLM's ~11 lookups a call is now a hit, not a scan of its fallback patterns
    assert litellm_seam.litellm.get_model_info(model)["litellm_provider"] == "openai"
    assert (litellm_seam.context_window(model), gw.model_info("standard")) == before
    assert before[0] == 8192 and not any(before[1][k] for k in ("vision", "function_calling"))
    assert first.cost_usd == second.cost_usd == 0.0  # still no price: free
    assert [r["model"] for r in fakellm.requests] == [model.split("/", 1)[1]] * 2


def test_a_model_litellm_knows_keeps_its_own_entry() -> None:
    known = dict(litellm_seam.litellm.get_model_info("openai/gpt-4o-mini"))
    litellm_seam.introduce("openai/gpt-4o-mini")
    assert dict(litellm_seam.litellm.get_model_info("openai/gpt-4o-mini")) == known
    assert known["input_cost_per_token"] > 0
