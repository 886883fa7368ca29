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

if TYPE_CHECKING:
    from crewyard.gateway import CallRecord, Gateway


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

    def record_call(self, call: CallRecord) -> None:
        """Called by the gateway after every model call, failed ones included."""
        self.usage.add(call.model, call.prompt_tokens, call.completion_tokens, call.cost_usd)
        fields = asdict(call)
        self.store.model_call(self.run_id, **fields)
        self.events.emit(MODEL_CALL, **fields)
