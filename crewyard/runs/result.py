"""RunResult: what a run produced, for the CLI, notebooks and batch jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskOutput:
    task: str
    agent: str | None
    output: str
    output_file: str | None = None


@dataclass(frozen=True)
class RunResult:
    """The final output, every task's output, usage and cost of one run."""

    run_id: str
    crew: str
    engine: str
    status: str
    output: str
    task_outputs: list[TaskOutput] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    cost: float = 0.0
    duration_s: float = 0.0
    output_dir: str | None = None
    log_file: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)  # degradations the run survived
    cassette: str | None = None  # this run's recorded calls (for --resume and --replay)
    replay_of: str | None = None  # the run whose cassette this run replayed
    resume_of: str | None = None  # the run this run resumed
    kept: list[str] = field(default_factory=list)  # the tasks it kept from that run

    @property
    def ok(self) -> bool:
        return self.status == "done"

    @property
    def output_files(self) -> list[str]:
        return [t.output_file for t in self.task_outputs if t.output_file]

    def __str__(self) -> str:
        return self.output

    def _repr_markdown_(self) -> str:
        tokens = self.usage.get("total_tokens", 0)
        lines = [
            f"**{self.crew}** · run `{self.run_id}` · {self.engine} · {self.status} · "
            f"{tokens} tokens · ${self.cost:.4f} · {self.duration_s:.1f} s",
            "",
            self.output,
        ]
        if len(self.task_outputs) > 1:
            lines += ["", "<details><summary>Task outputs</summary>", ""]
            for t in self.task_outputs:
                lines += [f"#### {t.task} ({t.agent})", "", t.output, ""]
            lines.append("</details>")
        return "\n".join(lines)
