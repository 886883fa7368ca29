"""A `grammar` response_format on the embedded model: the reply matches the GBNF, and one
without its GBNF is the caller's fault. (llama.cpp crashes on some malformed GBNF: grammars
come from crewyard's code, never from a user.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from crewyard.engines import codeblock
from crewyard.errors import ModelError
from crewyard.gateway import Gateway
from crewyard.gateway.config import ModelTable
from crewyard.memory import facts
from crewyard.recall import model_extractor
from tests.conftest import write_yaml


def gateway(tmp_path: Path) -> Gateway:
    models = {"aliases": {"fast": {"model": "local/smollm2"}}, "local": {"n_ctx": 2048}}
    return Gateway(ModelTable.load(write_yaml(tmp_path / "models.yaml", models), env={}))


def test_the_coders_grammar_gives_one_block_that_parses(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "Write solve(xs) returning the sum of xs."}]
    fmt = {"type": "grammar", "grammar": codeblock.grammar("solve"), "seed": 1}
    reply = gateway(tmp_path).complete("fast", messages, response_format=fmt, max_tokens=200)
    assert reply.text.startswith("```python\ndef solve(") and reply.text.endswith("```")
    assert codeblock.problem(reply.text, "solve") is None


def test_a_grammar_request_without_its_gbnf_is_refused(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}]
    fmt = {"type": "grammar", "grammar": " "}
    with pytest.raises(ModelError, match="needs its GBNF text"):
        gateway(tmp_path).complete("fast", messages, response_format=fmt, max_tokens=5)


def test_memory_facts_from_the_embedded_model_always_parse(tmp_path: Path) -> None:
    """learn: model on SmolLM2: the facts reply is decoded under the schema, so every reply
    reads as typed statements at the first try (no retry, no fall back to bullet points)."""
    gw = gateway(tmp_path)
    sent: list[dict[str, object]] = []
    complete = gw.complete

    def counted(*args: object, **options: object) -> object:
        sent.append(dict(options))
        return complete(*args, **options)  # type: ignore[arg-type]

    gw.complete = counted  # type: ignore[method-assign]
    extract = model_extractor(gw, "fast")
    outputs = [
        "- Sodium-ion cells cost less than lithium cells\n- They work well in cold weather",
        "Tidal power depends on the moon and gives 2 high tides a day.",
        "# Plan\n1. We chose a small pilot of 10 homes\n2. A heat pump is a device that moves heat",
    ]
    taken = [fact for output in outputs for fact in extract("research", output)]
    assert taken and all(f.kind in facts.KINDS and 20 <= len(f.statement) <= 300 for f in taken)
    assert len(sent) == len(outputs)  # each answered at the first try
    assert all(o["response_format"]["type"] == "json_schema" for o in sent)  # type: ignore[index]
