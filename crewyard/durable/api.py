"""The notebook side of batches: crewyard.batch(...) and crewyard.resume_batch(...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crewyard import engines
from crewyard.crews import load_crew
from crewyard.durable import engine
from crewyard.durable.batch import BatchResult, resume_batch, run_batch
from crewyard.durable.items import items_of, read_items
from crewyard.engines.asyncrun import off_the_loop
from crewyard.gateway.config import ModelTable
from crewyard.observe.progress import BatchProgress
from crewyard.settings import Settings


def notebook_batch(
    crew: str,
    items: list[dict[str, Any]] | str | Path,
    *,
    concurrency: int = 4,
    rate: float | None = None,
    max_tokens: int | None = None,
    max_cost_usd: float | None = None,
    out: str | Path | None = None,
    models: dict[str, str] | None = None,
    settings: Settings | None = None,
    progress: bool = True,
) -> BatchResult:
    settings = settings or Settings()
    spec = load_crew(crew, settings.crews_dir, engines.processes())
    if isinstance(items, str | Path):
        source: Path | None = Path(items)
        checked = read_items(Path(items), spec)
    else:
        source, checked = None, items_of(items, spec)
    ModelTable.load(settings.models_file, models or {})  # a bad override stops it first
    with BatchProgress(enabled=progress) as shown:
        try:  # the durable engine refuses to be called inside a running loop (a notebook's)
            return off_the_loop(
                lambda: run_batch(
                    settings,
                    spec,
                    checked,
                    concurrency=concurrency,
                    rate=rate,
                    max_tokens=max_tokens,
                    max_cost_usd=max_cost_usd,
                    out=Path(out) if out is not None else None,
                    models=models,
                    source=source,
                    progress=shown,
                )
            )
        finally:
            engine.shutdown()


def notebook_resume_batch(
    batch_id: str, *, settings: Settings | None = None, progress: bool = True
) -> BatchResult:
    settings = settings or Settings()
    with BatchProgress(enabled=progress) as shown:
        try:
            return off_the_loop(lambda: resume_batch(settings, batch_id, shown))
        finally:
            engine.shutdown()
