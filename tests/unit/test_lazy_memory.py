"""A memory opened on first real use, and the start-up line naming what was imported."""

from __future__ import annotations

import time
from typing import Any

from crewyard.environ import IMPORT_SECONDS, imported
from crewyard.memory.lazy import LazyMemory
from crewyard.memory.protocol import Episode, MemoryItem
from crewyard.observe.logs import StartUp


class Recorded:
    """A Memory keeping facts in a list, noting that it was closed."""

    def __init__(self) -> None:
        self.facts: list[str] = []
        self.closed = False

    def search(self, query: str, **_: Any) -> list[MemoryItem]:
        return [MemoryItem(str(n), "facts", f, {}) for n, f in enumerate(self.facts)]

    def add_fact(self, text: str, **_: Any) -> str:
        self.facts.append(text)
        return str(len(self.facts))

    def add_episode(self, episode: Episode) -> str:
        return episode.run_id

    def stats(self) -> dict[str, int]:
        return {"facts": len(self.facts)}

    def close(self) -> None:
        self.closed = True


def lazy(empty: bool) -> tuple[LazyMemory, list[Recorded]]:
    opened: list[Recorded] = []

    def opener() -> Any:
        opened.append(Recorded())
        return opened[-1]

    return LazyMemory(opener, lambda: empty), opened


def test_a_search_of_a_memory_never_made_opens_nothing() -> None:
    memory, opened = lazy(empty=True)
    assert memory.search("anything") == []
    assert memory.forget_where("facts", run_id="r") == 0
    assert opened == [] and not memory.is_open
    memory.close()
    assert opened == []


def test_a_write_opens_it_once_and_searches_then_read_it() -> None:
    memory, opened = lazy(empty=True)
    memory.add_fact("Sodium-ion cells avoid lithium", crew="c", run_id="r")
    memory.add_fact("Tides follow the moon", crew="c", run_id="r")
    assert len(opened) == 1 and memory.is_open
    assert [item.text for item in memory.search("sodium")] == [
        "Sodium-ion cells avoid lithium",
        "Tides follow the moon",
    ]
    assert memory.stats() == {"facts": 2}  # the backend's own calls reach it too
    memory.close()
    assert opened[0].closed and not memory.is_open


def test_a_memory_that_may_hold_something_opens_for_a_search() -> None:
    memory, opened = lazy(empty=False)
    assert memory.search("anything") == []
    assert len(opened) == 1


def test_imports_are_timed_once_and_a_nested_one_counts_for_itself() -> None:
    for name in ("Outer lib", "Inner lib"):
        IMPORT_SECONDS.pop(name, None)
    with imported("Outer lib"):
        time.sleep(0.02)
        with imported("Inner lib"):
            time.sleep(0.05)
    outer, inner = IMPORT_SECONDS["Outer lib"], IMPORT_SECONDS["Inner lib"]
    assert inner >= 0.05 and 0.02 <= outer < inner
    with imported("Outer lib"):
        time.sleep(0.01)
    assert IMPORT_SECONDS["Outer lib"] == outer  # already loaded: the first import stands


def test_the_start_up_line_names_the_libraries_the_run_imported() -> None:
    IMPORT_SECONDS.pop("Before lib", None)
    IMPORT_SECONDS.pop("During lib", None)
    with imported("Before lib"):
        time.sleep(0.01)
    startup = StartUp()
    with imported("During lib"):
        time.sleep(0.01)
    line = startup.line()
    assert "During lib 0.01 s" in line
    assert "Before lib" not in line  # loaded before this run began: not its start-up
