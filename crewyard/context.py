"""RunContext: everything a run needs, passed in (no module-level singletons)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crews.spec import CrewSpec
from crewyard.errors import BudgetExceeded
from crewyard.events import MODEL_CALL, EventSink
from crewyard.runs import RunStore
from crewyard.settings import Settings
from crewyard.usage import UsageMeter
from tools import ToolSpec

if TYPE_CHECKING:
    from crewyard.gateway import CallRecord, Gateway
    from memory.store import MemoryStore


@dataclass
class RunContext:
    """One run's gateway, store, events, usage and output folder."""

    run_id: str
    spec: CrewSpec
    inputs: dict[str, Any]
    settings: Settings
    gateway: Gateway
    store: RunStore
    events: EventSink
    output_dir: Path
    usage: UsageMeter = field(default_factory=UsageMeter)
    # tools by name: registered ones the crew names, plus memory_search/memory_save
    tools: dict[str, ToolSpec] = field(default_factory=dict)
    memory: MemoryStore | None = None  # the shared memory, when the crew uses it

    def tools_for(self, agent: str, task: str | None = None) -> list[ToolSpec]:
        """The agent's tools (and the task's), with the memory tools every agent gets."""
        names = list(self.spec.agents[agent].tools)
        if task is not None:
            names += [n for n in self.spec.tasks[task].tools if n not in names]
        names += [n for n in ("memory_search", "memory_save") if n in self.tools]
        return [self.tools[n] for n in dict.fromkeys(names)]

    def check_budget(self, alias: str, messages: list[dict[str, Any]]) -> None:
        """Refuse a call that would pass the run's budget (prompt estimated at 4 chars/token)."""
        budget = self.spec.budget
        spent = self.usage.summary()
        if budget.max_tokens is not None:
            prompt = sum(len(str(m.get("content") or "")) for m in messages) // 4
            if spent["total_tokens"] + prompt > budget.max_tokens:
                raise BudgetExceeded(
                    f"token budget reached: {spent['total_tokens']} of {budget.max_tokens} "
                    f"tokens spent, and the next call to {alias} needs about {prompt} more"
                )
        if budget.max_cost_usd is not None and spent["cost_usd"] >= budget.max_cost_usd:
            raise BudgetExceeded(
                f"dollar budget reached: ${spent['cost_usd']:.4f} of ${budget.max_cost_usd:.4f}"
            )

    def record_call(self, call: CallRecord) -> None:
        """Called by the gateway after every model call, failed ones included."""
        self.usage.add(
            call.model,
            call.prompt_tokens,
            call.completion_tokens,
            call.cost_usd,
            call.cached,
            call.cost_saved,
            failed=call.error is not None,
        )
        fields = asdict(call)
        self.store.model_call(self.run_id, **fields)
        self.events.emit(MODEL_CALL, **fields)
