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
