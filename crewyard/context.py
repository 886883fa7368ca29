"""RunContext: everything a run needs, passed in (no module-level singletons)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crews.spec import CrewSpec
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

    def record_call(self, call: CallRecord) -> None:
        """Called by the gateway after every model call, failed ones included."""
        self.usage.add(call.model, call.prompt_tokens, call.completion_tokens, call.cost_usd)
        fields = asdict(call)
        self.store.model_call(self.run_id, **fields)
        self.events.emit(MODEL_CALL, **fields)
