"""The embedded SmolLM2 model through the gateway: settings honoured, usage truthful."""

from __future__ import annotations

from pathlib import Path

from crewyard.gateway import Gateway
from crewyard.gateway.config import LocalModelConfig, ModelTable
from crewyard.gateway.providers import local as local_model
from tests.conftest import write_yaml


def gateway(tmp_path: Path) -> Gateway:
    models = {
        "aliases": {"fast": {"model": "local/smollm2", "temperature": 0}},
        "local": {"n_ctx": 2048},
    }
    return Gateway(ModelTable.load(write_yaml(tmp_path / "models.yaml", models), env={}))


def test_model_ships_in_the_wheel() -> None:
    path = local_model.default_model_path()
    assert path.is_file() and path.stat().st_size > 50_000_000


def test_max_tokens_and_usage_come_from_llama_cpp(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Count from one to fifty in words."}]
    reply = gateway(tmp_path).complete("fast", messages, max_tokens=8)
    assert 0 < reply.completion_tokens <= 8
    llm = local_model.load(LocalModelConfig(n_ctx=2048))
    assert reply.prompt_tokens > llm.count_tokens(messages[0]["content"])  # + chat template
    assert reply.cost_usd == 0.0 and reply.model == "local/smollm2"


def test_stop_words_end_the_reply(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Write the numbers 1 to 10, one per line."}]
    free = gateway(tmp_path).complete("fast", messages, max_tokens=40)
    stopped = gateway(tmp_path).complete("fast", messages, max_tokens=40, stop=["5"])
    assert "5" in free.text
    assert "5" not in stopped.text
    assert stopped.completion_tokens < free.completion_tokens


def test_same_settings_share_one_loaded_model() -> None:
    cfg = LocalModelConfig(n_ctx=2048)
    assert local_model.load(cfg) is local_model.load(cfg)
