"""RunContext: everything a run needs, passed in (no module-level singletons)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crews.spec import CrewSpec
from crewyard.errors import BudgetExceeded
from crewyard.events import MODEL_CALL, TOOL_CALL, TOOL_DISABLED, EventSink
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
    # what went wrong but did not stop the run (a tool switched off, a model fallen back)
    notes: list[str] = field(default_factory=list)
    tool_failures: dict[str, int] = field(default_factory=dict)
    disabled_tools: dict[str, str] = field(default_factory=dict)  # tool → why
    tool_failure_limit: int = 3

    def call_tool(self, spec: ToolSpec, args: dict[str, Any], agent: str | None = None) -> str:
        """Run a tool for an agent. A failure comes back as text the agent reads; a tool
        that fails tool_failure_limit times in a row is switched off for the rest of the run,
        so the agent carries on without it, and the run notes it."""
        if spec.name in self.disabled_tools:
            refused = (
                f"error: tool {spec.name} is switched off for the rest of this run "
                f"({self.disabled_tools[spec.name]}); continue without it"
            )
            self.events.emit(TOOL_CALL, tool=spec.name, agent=agent, args=args, skipped=True)
            return refused
        failed = False
        try:
            result = spec.call(**args)
        except Exception as exc:  # the tool's own failure, not the agent's arguments
            failed = True
            result = f"error: {spec.name} failed: {type(exc).__name__}: {exc}"
        self.events.emit(
            TOOL_CALL, tool=spec.name, agent=agent, args=args, result=result[:500], failed=failed
        )
        count = self.tool_failures[spec.name] = self.tool_failures.get(spec.name, 0) + 1
        if not failed:
            self.tool_failures[spec.name] = 0
        elif count >= self.tool_failure_limit:
            why = f"failed {count} times in a row, last: {result.removeprefix('error: ')[:200]}"
            self.disabled_tools[spec.name] = why
            self.notes.append(f"tool {spec.name} switched off: {why}")
            self.events.emit(TOOL_DISABLED, tool=spec.name, agent=agent, reason=why)
        return result

    def tools_for(self, agent: str, task: str | None = None) -> list[ToolSpec]:
        """The agent's tools (and the task's), with the memory tools every agent gets."""
        names = list(self.spec.agents[agent].tools)
        if task is not None:
            names += [n for n in self.spec.tasks[task].tools if n not in names]
        names += [n for n in ("memory_search", "memory_save") if n in self.tools]
        return [self.tools[n] for n in dict.fromkeys(names)]

    def model_for(self, task: str | None, agent_model: str) -> str:
        """The model a call uses: the task's own `model:` if it has one, else the agent's."""
        spec = self.spec.tasks.get(task) if task else None
        return spec.model if spec is not None and spec.model else agent_model

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
            replayed=call.replayed,
        )
        fields = asdict(call)
        self.store.model_call(self.run_id, **fields)
        self.events.emit(MODEL_CALL, **fields)
        if call.error is None and call.note and "fell back" in call.note:
            note = f"{call.note} → answered by {call.alias}"
            if note not in self.notes:
                self.notes.append(note)
