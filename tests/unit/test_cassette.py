"""Cassettes: what is written (append-only, flushed, redacted, from many threads), how a
replay matches requests (per agent and task, in order) and explains a mismatch, and the
gateway answering from a cassette without its Router, cache or providers."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from crewyard.errors import BudgetExceeded, ConfigError, ModelError, ReplayMismatch
from crewyard.gateway import CallRecord, Completion, Gateway
from crewyard.gateway.cache import ResponseCache
from crewyard.gateway.config import ModelTable
from crewyard.gateway.tapes import Request
from crewyard.gateway.usage import Limits
from crewyard.runs.cassettes import CassettePlayer, CassetteWriter, read_cassette
from tests.conftest import write_yaml

HI = [{"role": "user", "content": "hi"}]
AGAIN = [{"role": "user", "content": "hi again"}]


def record_call(writer: CassetteWriter, agent: str, task: str, text: str, reply: str) -> None:
    messages = [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": text},
    ]
    request = Request("standard", messages, {"stop": ["\nObservation:"], "temperature": None})
    writer.keep(
        Request(request.ref, request.messages, request.options, agent, task),
        Completion(reply, "scripted/main", "standard", 3, 0, 0.0, 0.0, "stop"),
    )


def ask(player: CassettePlayer, agent: str, task: str, text: str) -> str:
    messages = [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": text},
    ]
    entry = player.answer("standard", messages, {"stop": ["\nObservation:"]}, agent, task)
    return str((entry.reply or {})["text"])


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "cassettes" / "run1.jsonl"
    writer = CassetteWriter(path, {"run_id": "run1", "crew": "demo", "inputs": {"topic": "x"}})
    record_call(writer, "researcher", "research", "List facts about tides.", "facts")
    record_call(writer, "writer", "write", "Write a report on tides.", "report")
    record_call(writer, "researcher", "research", "Any more facts?", "more facts")
    writer.close()
    return path


def test_each_entry_is_on_disk_before_the_next_call(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    writer = CassetteWriter(path, {"run_id": "r", "crew": "demo"})
    record_call(writer, "a", "t", "first", "one")
    # nothing closed yet: a run that crashed now would keep both lines
    header, entries = read_cassette(path)
    assert header["crew"] == "demo" and header["version"] == 1
    assert [(e["seq"], e["agent"], e["reply"]["text"]) for e in entries] == [(1, "a", "one")]
    assert entries[0]["request"]["options"] == {"stop": ["\nObservation:"]}  # unset ones dropped
    writer.close()


def test_secrets_are_masked_and_no_key_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary = "canary-value-5c2e9a1f7b"
    monkeypatch.setenv("SOME_PROVIDER_API_KEY", canary)
    path = tmp_path / "c.jsonl"
    writer = CassetteWriter(path, {"run_id": "r", "inputs": {"note": f"key {canary}"}})
    record_call(writer, "a", "t", f"use {canary} and sk-abcdefghijklmnopqrstuvwx", canary)
    writer.keep_memory("search", {"query": canary}, [{"text": canary}])
    writer.close()
    text = path.read_text()
    assert canary not in text and "sk-abcdefghijklmnop" not in text
    assert text.count("[REDACTED]") == 6  # inputs, 2 in the prompt, reply, memory 2


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    writer = CassetteWriter(path, {"run_id": "r"})

    def agent(n: int) -> None:
        for i in range(40):
            record_call(writer, f"agent{n}", "t", f"{n}:{i} " + "x" * 500, f"reply {n}:{i}")

    threads = [threading.Thread(target=agent, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    _, entries = read_cassette(path)
    assert sorted(e["seq"] for e in entries) == list(range(1, 321))
    player = CassettePlayer(path)  # each agent's stream kept its own order
    assert [ask(player, "agent3", "t", f"3:{i} " + "x" * 500) for i in range(40)] == [
        f"reply 3:{i}" for i in range(40)
    ]


def test_replay_follows_each_agent_and_task_in_order(cassette: Path) -> None:
    player = CassettePlayer(cassette)
    assert (player.run_id, player.crew, player.inputs) == ("run1", "demo", {"topic": "x"})
    # the writer's call may come before the researcher's second one: streams are separate
    assert ask(player, "researcher", "research", "List facts about tides.") == "facts"
    assert ask(player, "researcher", "research", "Any more facts?") == "more facts"
    assert ask(player, "writer", "write", "Write a report on tides.") == "report"
    player.check_all_used()
    assert player.served == 3


def test_a_changed_request_fails_with_a_diff_naming_the_call(cassette: Path) -> None:
    player = CassettePlayer(cassette)
    ask(player, "researcher", "research", "List facts about tides.")
    with pytest.raises(ReplayMismatch) as info:
        ask(player, "writer", "write", "Write a short report on tides.")
    text = str(info.value)
    assert "call 2 (agent 'writer', task 'write') differs from the recording" in text
    assert "-    Write a report on tides." in text
    assert "+    Write a short report on tides." in text
    assert "--crew demo --record" in text
    # later requests, even a right one, keep failing with the same mismatch
    with pytest.raises(ReplayMismatch, match=r"call 2 .* differs"):
        ask(player, "researcher", "research", "Any more facts?")


def test_changed_options_are_a_mismatch_too(cassette: Path) -> None:
    player = CassettePlayer(cassette)
    messages = [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": "List facts about tides."},
    ]
    with pytest.raises(ReplayMismatch) as info:
        player.answer(
            "standard",
            messages,
            {"stop": ["\nObservation:"], "temperature": 0.7},
            "researcher",
            "research",
        )
    assert "+temperature: 0.7" in str(info.value)


def test_more_or_fewer_calls_than_recorded_fail(cassette: Path) -> None:
    player = CassettePlayer(cassette)
    assert ask(player, "writer", "write", "Write a report on tides.") == "report"
    with pytest.raises(ReplayMismatch, match="agent 'writer', task 'write' was not recorded"):
        ask(player, "writer", "write", "Write a report on tides.")
    fewer = CassettePlayer(cassette)
    ask(fewer, "researcher", "research", "List facts about tides.")
    with pytest.raises(ReplayMismatch, match=r"after 1 of 3 .* call 2 \(agent 'writer'"):
        fewer.check_all_used()


def test_a_line_cut_by_a_crash_is_dropped_but_other_damage_is_reported(cassette: Path) -> None:
    whole = cassette.read_text()
    cassette.write_text(whole + '{"seq": 4, "kind": "ca')
    assert CassettePlayer(cassette).total == 3
    lines = whole.splitlines()
    cassette.write_text("\n".join([lines[0], "not json", *lines[1:]]) + "\n")
    with pytest.raises(ConfigError, match=r"c?run1.jsonl:2: not a cassette line"):
        CassettePlayer(cassette)


def test_memory_reads_replay_by_query(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    writer = CassetteWriter(path, {"run_id": "r"})
    writer.keep_memory("search", {"query": "tides", "k": 3}, [{"text": "first"}])
    writer.keep_memory("search", {"query": "moon", "k": 3}, [])
    writer.keep_memory("search", {"query": "tides", "k": 3}, [{"text": "second"}])
    writer.close()
    player = CassettePlayer(path)
    assert player.play_memory("search", {"query": "moon", "k": 3}).value == []
    assert player.play_memory("search", {"query": "tides", "k": 3}).value == [{"text": "first"}]
    assert player.play_memory("search", {"query": "tides", "k": 3}).value == [{"text": "second"}]
    with pytest.raises(ReplayMismatch, match=r"memory search .*tides.* was not recorded"):
        player.play_memory("search", {"query": "tides", "k": 3})


def scripted_gateway(tmp_path: Path, replies: list[str], **alias: Any) -> Gateway:
    path = write_yaml(
        tmp_path / "models.yaml",
        {"aliases": {"standard": {"model": "scripted/main", "temperature": 0, **alias}}},
    )
    gateway = Gateway(ModelTable.load(path, env={}), ResponseCache(tmp_path / "cache"))
    gateway.register_script("main", replies)
    return gateway


def test_gateway_records_final_replies_and_replays_them_without_any_provider(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.jsonl"
    recording = scripted_gateway(tmp_path / "a", ["one", "two"])
    writer = CassetteWriter(path, {"run_id": "r1"})
    view = recording.for_run(tape=writer)
    assert view.complete("standard", HI, agent="a", task="t").text == "one"
    assert view.complete("standard", HI, agent="a", task="t").text == "one"  # a cache hit
    assert recording.complete("standard", [{"role": "user", "content": "other"}]).text == "two"
    writer.close()
    assert CassettePlayer(path).total == 2  # both of the run's calls; never the other run's

    # an alias whose key is not set, and a script with nothing left: no provider can answer
    replaying = scripted_gateway(tmp_path / "b", [], api_key_env="NOT_SET_ANYWHERE_KEY")
    assert replaying.cache is not None

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a replay reached the cache or began a provider call")

    monkeypatch.setattr(replaying.cache, "get", never)
    monkeypatch.setattr(replaying.cache, "put", never)
    monkeypatch.setattr("crewyard.gateway.core.Call", never)
    calls: list[CallRecord] = []
    player = replaying.for_run(tape=CassettePlayer(path), on_record=calls.append)
    for _ in range(2):
        reply = player.complete("standard", HI, agent="a", task="t")
        assert (reply.text, reply.cost_usd, reply.model) == ("one", 0.0, "scripted/main")
    assert [(c.replayed, c.cached, c.cost_usd, c.error) for c in calls] == [
        (True, True, 0.0, None)
    ] * 2
    assert "replayed call 1 of run r1" in (calls[0].note or "")
    assert replaying._router is None  # no Router was even built
    assert replaying.scripts["main"].calls == []


def test_async_calls_and_failed_calls_replay_too(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    writer = CassetteWriter(path, {"run_id": "r1"})
    view = scripted_gateway(tmp_path / "a", ["async one"]).for_run(tape=writer)
    assert asyncio.run(view.acomplete("standard", HI, agent="a")).text == "async one"
    with pytest.raises(ModelError, match="no reply left"):
        asyncio.run(view.acomplete("standard", AGAIN, agent="a"))
    writer.close()
    calls: list[CallRecord] = []
    player = scripted_gateway(tmp_path / "b", []).for_run(
        tape=CassettePlayer(path), on_record=calls.append
    )
    assert asyncio.run(player.acomplete("standard", HI, agent="a")).text == "async one"
    with pytest.raises(ModelError, match=r"model alias 'standard' .*no reply left"):
        asyncio.run(player.acomplete("standard", AGAIN, agent="a"))
    assert calls[1].replayed and calls[1].error


def test_a_call_refused_by_the_budget_is_refused_again_on_replay(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    writer = CassetteWriter(path, {"run_id": "r1"})

    tight = Limits(max_tokens=1)  # a prompt of some 10 tokens passes it
    long = [{"role": "user", "content": "a question of forty characters, roughly."}]
    view = scripted_gateway(tmp_path / "a", ["never sent"]).for_run(tape=writer, limits=tight)
    with pytest.raises(BudgetExceeded):
        view.complete("standard", long, agent="a")
    writer.close()
    calls: list[CallRecord] = []
    player = scripted_gateway(tmp_path / "b", []).for_run(
        tape=CassettePlayer(path), on_record=calls.append
    )
    with pytest.raises(BudgetExceeded, match="0 of 1 tokens spent"):
        player.complete("standard", long, agent="a")
    assert calls == []  # the original made no call, so neither does its replay record one
