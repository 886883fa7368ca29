"""Plugins as another package would write them, for the seam tests: an engine with its own
process, a provider for its own prefix, a memory backend and a tool. Each is plain Python that
uses only crewyard's protocols; test_seams.py plugs them in by registration and by entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from crewyard.context import RunContext
from crewyard.gateway.config import ModelTable
from crewyard.gateway.records import Reply
from crewyard.memory import SCOPES, Episode, MemoryItem
from crewyard.runs.result import TaskOutput
from crewyard.tools import tool


class EchoOptions(BaseModel):
    """engine_options of the `echo` process."""

    model_config = ConfigDict(extra="forbid")
    shout: bool = Field(default=False, description="Upper-case every output.")


class EchoEngine:
    """Runs the `echo` process: each task's agent is asked once, in order, with the earlier
    outputs as context; finished tasks go through the run like any engine's."""

    name = "echo-engine"
    processes: ClassVar[Mapping[str, type[BaseModel]]] = {"echo": EchoOptions}

    def run(self, ctx: RunContext) -> list[TaskOutput]:
        options = EchoOptions.model_validate(ctx.spec.engine_options)
        done: list[TaskOutput] = []
        for name, task in ctx.spec.tasks.items():
            agent = task.agent or next(iter(ctx.spec.agents))
            context = "\n".join(o.output for o in done)
            reply = ctx.gateway.complete(
                ctx.model_for(name, ctx.spec.agent_model(agent)),
                [{"role": "user", "content": f"{task.description}\n{context}".strip()}],
                agent=agent,
                task=name,
            )
            text = reply.text.upper() if options.shout else reply.text
            done.append(ctx.finish_task(name, agent, text))
        return done


ENGINE = EchoEngine()


class ParrotProvider:
    """`parrot/<name>`: answers with the last user message, reversed; counts words."""

    free = True

    def __init__(self, table: ModelTable) -> None:
        self.table = table
        self.calls = 0

    def complete(
        self, model: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        self.calls += 1
        text = str(messages[-1]["content"])[::-1]
        return Reply(text, f"parrot/{model}", len(str(messages).split()), len(text.split()))

    async def acomplete(
        self, model: str, messages: list[dict[str, Any]], options: dict[str, Any]
    ) -> Reply:
        return self.complete(model, messages, options)

    def count_tokens(self, model: str, text: str) -> int:
        return len(text.split())

    def context_window(self, model: str) -> int:
        return 321

    def capabilities(self, model: str) -> dict[str, bool]:
        return {
            "vision": False,
            "function_calling": True,
            "json_output": False,
            "structured_output": False,
        }


class ListMemory:
    """A Memory kept in a list: search by shared words."""

    def __init__(self) -> None:
        self.items: list[MemoryItem] = []

    def _add(self, scope: str, text: str, **payload: Any) -> str:
        item_id = f"{scope}-{len(self.items)}"
        self.items.append(MemoryItem(item_id, scope, text, {"text": text, **payload}))
        return item_id

    def search(
        self,
        query: str,
        *,
        scopes: tuple[str, ...] = SCOPES,
        k: int = 5,
        crew: str | None = None,
        run_id: str | None = None,
    ) -> list[MemoryItem]:
        words = set(query.lower().split())
        scored = [
            i._replace(score=len(words & set(i.text.lower().split())) / (len(words) or 1))
            for i in self.items
            if i.scope in scopes
        ]
        return sorted((i for i in scored if i.score), key=lambda i: -(i.score or 0))[:k]

    def add_fact(self, text: str, *, crew: str, run_id: str, task: str | None = None) -> str:
        return self._add("facts", text, crew=crew, run_id=run_id, task=task)

    def upsert_entity(
        self, name: str, attributes: dict[str, Any], *, crew: str, run_id: str
    ) -> str:
        return self._add("entities", name, attributes=attributes, crew=crew, run_id=run_id)

    def add_episode(self, episode: Episode) -> str:
        text = f"{episode.objective} → {episode.outcome}"
        return self._add("episodes", text, crew=episode.crew, success=episode.success)

    def add_short_term(self, text: str, *, crew: str, run_id: str, task: str) -> str:
        return self._add("short_term", text, crew=crew, run_id=run_id, task=task)

    def forget_where(
        self, scope: str, *, crew: str | None = None, run_id: str | None = None
    ) -> int:
        gone = [
            i
            for i in self.items
            if i.scope == scope
            and (crew is None or i.payload.get("crew") == crew)
            and (run_id is None or i.payload.get("run_id") == run_id)
        ]
        self.items = [i for i in self.items if i not in gone]
        return len(gone)

    def close(self) -> None:
        self.closed = True


SHARED = ListMemory()


def open_list_memory(settings: Any, gateway: Any) -> ListMemory:
    return SHARED


@tool
def word_count(text: str) -> str:
    """How many words the text has."""
    return str(len(text.split()))
