"""The coder's reply as one Python block (crewyard/engines/codeblock.py): the function the
tests call, the grammar asked of the embedded model, the parse check and the bounded re-asks
with another seed — with a stand-in gateway, so no model is loaded."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from crewyard.engines import codeblock
from crewyard.engines.codeblock import CodeShape
from crewyard.gateway.records import Completion


def test_the_function_is_the_one_the_tests_call_and_do_not_define() -> None:
    tests = (
        "import math\nfrom os import path\ndef helper(x):\n    return x\nexpected = 3\n"
        "assert solve([1, 2]) == expected\nassert len(str(solve([]))) == 1\n"
        "assert helper(math.floor(solve([2.5]))) == 2 and path.sep\nassert other(1)"
    )
    assert codeblock.called_functions(tests) == ["solve", "other"]
    assert codeblock.called_functions("assert solve(") == []  # tests that do not parse
    assert codeblock.called_functions(None) == []


def test_the_grammar_starts_the_block_with_the_function() -> None:
    text = codeblock.grammar("solve")
    assert text.startswith('root ::= "```python\\n" func')
    assert '"def " "solve" "("' in text
    assert 'last ::= "    return " text' in text  # the first top-level return ends it
    assert "#" in text.split("text ::=")[1]  # no comments
    assert '"def " [A-Za-z_]' in codeblock.grammar(None)  # no known name: any name


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("```python\ndef solve(xs):\n    return sum(xs)\n```", None),
        ("Here:\n```py\ndef solve(xs):\n    return 0\n", None),  # an unclosed block is read
        ("no code at all", "no ```python block"),
        ("```python\ndef solve(xs):\n    return sum(xs\n```", "does not parse"),
        ("```python\ndef total(xs):\n    return sum(xs)\n```", "defines no function solve()"),
        ("```python\nif True:\n    def solve(xs):\n        return 0\n```", "no function solve"),
    ],
)
def test_a_reply_is_refused_unless_its_block_parses_and_defines_the_function(
    reply: str, why: str | None
) -> None:
    found = codeblock.problem(reply, "solve")
    assert found is None if why is None else why in (found or "")


def test_a_forgotten_last_fence_is_put_back() -> None:
    assert codeblock.closed("```python\nx = 1") == "```python\nx = 1\n```"
    assert codeblock.closed("```python\nx = 1\n```") == "```python\nx = 1\n```"


class FakeTable:
    def __init__(self, models: dict[str, str], chains: dict[str, list[str]]) -> None:
        self.models, self.chains = models, chains

    def chain(self, ref: str) -> list[str]:
        return self.chains[ref]

    def resolve(self, ref: str) -> tuple[str, Any]:
        return ref, SimpleNamespace(model=self.models[ref])


def fake_ctx(models: dict[str, str], chains: dict[str, list[str]]) -> Any:
    log = SimpleNamespace(debug=lambda *a, **k: None)
    gateway = SimpleNamespace(gateway=SimpleNamespace(table=FakeTable(models, chains)))
    return SimpleNamespace(gateway=gateway, events=SimpleNamespace(log=log))


def completion(text: str) -> Completion:
    return Completion(text, "local/smollm2", "fast", 1, 1, 0.0, 0.0)


class Sender:
    def __init__(self, replies: list[str]) -> None:
        self.replies, self.calls = replies, []  # type: list[str], list[dict[str, Any]]

    async def __call__(self, call: dict[str, Any]) -> Completion:
        self.calls.append(call)
        return completion(self.replies[len(self.calls) - 1])


LOCAL = fake_ctx({"fast": "local/smollm2"}, {"fast": ["fast"]})
BAD = "```python\ndef solve(xs):\n    return (\n```"
GOOD = "```python\ndef solve(xs):\n    return sum(xs)\n```"


def test_on_the_embedded_model_the_block_is_asked_for_by_grammar_until_it_parses() -> None:
    shape = CodeShape(LOCAL, "assert solve([1, 2]) == 3")
    send = Sender([BAD, GOOD])
    reply = asyncio.run(shape.complete({"ref": "fast", "response_format": None}, send))
    assert reply.text == GOOD
    formats = [c["response_format"] for c in send.calls]
    assert [f["type"] for f in formats] == ["grammar", "grammar"]
    assert [f["seed"] for f in formats] == [0, 1]  # another sample, not the same again
    assert formats[0]["grammar"] == codeblock.grammar("solve")
    assert "define the function solve()" in shape.rules()


def test_re_asking_is_bounded_and_the_last_block_goes_on_to_the_executor() -> None:
    shape = CodeShape(LOCAL, "assert solve(1) == 1")
    send = Sender([BAD] * (codeblock.TRIES + 1))
    reply = asyncio.run(shape.complete({"ref": "fast"}, send))
    assert len(send.calls) == codeblock.TRIES and reply.text == BAD


@pytest.mark.parametrize(
    ("models", "chain"),
    [
        ({"smart": "openai/gpt-4o"}, ["smart"]),
        ({"smart": "local/smollm2", "backup": "anthropic/claude"}, ["smart", "backup"]),
    ],
)
def test_a_model_that_may_be_remote_gets_the_usual_request(
    models: dict[str, str], chain: list[str]
) -> None:
    shape = CodeShape(fake_ctx(models, {"smart": chain}), "assert solve(1) == 1")
    send = Sender([BAD])
    call = {"ref": "smart", "response_format": None}
    reply = asyncio.run(shape.complete(call, send))
    assert send.calls == [call] and reply.text == BAD  # once, no grammar, as it came
