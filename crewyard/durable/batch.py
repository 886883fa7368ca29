"""Batches: a crew run over many inputs, durably. The batch and its items are recorded in the
run store; the durable engine (durable/engine.py) runs each item once, `concurrency` at a time,
at most `rate` a minute, and recovers a killed batch from where it stopped. An item that fails
is recorded and reported, never fatal to the batch; a batch budget stops new items once spent.
The results file is rewritten (atomically) as items finish, so it is valid at every moment."""

from __future__ import annotations

import fcntl
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crewyard.crews.spec import CrewSpec
from crewyard.durable import engine
from crewyard.durable.heartbeat import Heartbeat
from crewyard.durable.items import BatchItem
from crewyard.durable.runner import CrewRunner
from crewyard.errors import CrewyardError
from crewyard.observe import spans
from crewyard.runs.batches import DONE, FAILED, FINISHED, SKIPPED, Batch, BatchStore, Item
from crewyard.runs.files import write_atomic
from crewyard.runs.store import new_run_id
from crewyard.settings import Settings

Progress = Callable[[dict[str, Any]], None]  # the batch's counts, as they change


@dataclass(frozen=True)
class BatchResult:
    """A batch's items and what became of each (for the CLI and notebooks)."""

    batch_id: str
    crew: str
    items: list[Item]
    counts: dict[str, Any]
    out: str | None = None
    status: str = "done"
    interrupted: bool = field(default=False)

    @property
    def failed(self) -> list[str]:
        return [i.item_id for i in self.items if i.status in (FAILED, SKIPPED)]

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per item (pandas.DataFrame(result.records()) works)."""
        return [_record(i) for i in self.items]

    def _repr_markdown_(self) -> str:
        c = self.counts
        head = (
            f"**batch {self.batch_id}** · {self.crew} · {c['done']} done, {c['failed']} failed, "
            f"{c['skipped']} skipped of {c['items']} · {c['tokens']} tokens · "
            f"${c['cost_usd']:.4f}"
        )
        rows = [f"| {i.item_id} | {i.status} | {(i.error or '')[:80]} |" for i in self.items[:50]]
        return "\n".join([head, "", "| item | status | error |", "|---|---|---|", *rows])


def run_batch(
    settings: Settings,
    spec: CrewSpec,
    items: list[BatchItem],
    *,
    concurrency: int = 4,
    rate: float | None = None,
    max_tokens: int | None = None,
    max_cost_usd: float | None = None,
    out: Path | None = None,
    models: dict[str, str] | None = None,
    source: Path | None = None,
    progress: Progress | None = None,
    on_start: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
    detach: bool = False,
    runner: CrewRunner | None = None,
) -> BatchResult:
    """Record a new batch and run it to the end (durably: `resume` picks it up if this
    process dies). on_start hears the batch's id once it is recorded; `stop` set (SIGTERM)
    ends it early: no new item starts, those under way finish. detach: only queue it, for
    `python main.py worker` processes to run. runner: the process's own (a worker's), when
    it has one."""
    store = BatchStore(settings.run_store)
    batch = Batch(
        id=f"b{new_run_id()}",
        crew=spec.name,
        source=str(source) if source else None,
        out=str(out) if out else None,
        status="running",
        created_at=time.time(),
        finished_at=None,
        concurrency=concurrency,
        rate=rate,
        max_tokens=max_tokens,
        max_cost_usd=max_cost_usd,
        models=dict(models or {}),
    )
    store.create(batch, [(i.id, i.line, i.inputs) for i in items])
    if on_start is not None:
        on_start(batch.id)
    if detach:
        engine.launch(settings.data_dir, settings.database_url)
        engine.enqueue_batch(batch.id, [i.id for i in items], concurrency, rate)
        return _result(store, batch)
    return _drive(settings, store, batch, progress, stop, runner)


def resume_batch(
    settings: Settings,
    batch_id: str,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    runner: CrewRunner | None = None,
) -> BatchResult:
    """Run a batch's unfinished items (after a crash or Ctrl-C); finished ones never again."""
    store = BatchStore(settings.run_store)
    batch = store.get(batch_id)
    store.reopen(batch.id)
    return _drive(settings, store, batch, progress, stop, runner)


def batch_status(settings: Settings, batch_id: str) -> BatchResult:
    store = BatchStore(settings.run_store)
    batch = store.get(batch_id)
    return _result(store, batch)


def _drive(
    settings: Settings,
    store: BatchStore,
    batch: Batch,
    progress: Progress | None,
    stop: threading.Event | None,
    shared: CrewRunner | None = None,
) -> BatchResult:
    if shared is not None:  # inside a worker: its runner, heartbeat and durable engine
        return _traced(shared, store, batch, progress, stop or threading.Event())
    runner = CrewRunner(settings)
    engine.set_item_runner(lambda batch_id, item_id: run_item(runner, batch_id, item_id))
    try:
        engine.launch(settings.data_dir, settings.database_url)
        with Heartbeat(settings) as heart:
            heart.recover()  # a killed run of this batch (or another) continues from its steps
            result = _traced(runner, store, batch, progress, stop or threading.Event())
            if result.interrupted and stop is not None and stop.is_set():
                runner.drain(settings.stop_grace_s)  # what runs finishes; nothing new starts
                return _result(store, batch, interrupted=True)
            return result
    finally:
        runner.close()


def _traced(
    runner: CrewRunner,
    store: BatchStore,
    batch: Batch,
    progress: Progress | None,
    stop: threading.Event,
) -> BatchResult:
    """_follow in the batch's span, when traced: the items this process runs go under it."""
    attributes = {"crewyard.batch.id": batch.id, "crewyard.crew": batch.crew}
    with spans.span(f"batch {batch.crew}", attributes) as parent:
        if parent is None:
            return _follow(store, batch, progress, stop)
        runner.trace_parents[batch.id] = dict(parent)
        try:
            return _follow(store, batch, progress, stop)
        finally:
            runner.trace_parents.pop(batch.id, None)


def _follow(
    store: BatchStore, batch: Batch, progress: Progress | None, stop: threading.Event
) -> BatchResult:
    item_ids = [i.item_id for i in store.items(batch.id)]
    handle = engine.start_batch(batch.id, item_ids, batch.concurrency, batch.rate)
    seen = -1
    try:
        while not stop.is_set():
            finished = engine.batch_finished(handle)
            counts = store.counts(batch.id)
            done = sum(counts[s] for s in FINISHED)
            if done != seen:
                seen = done
                _write_results(store, batch)
                if progress is not None:
                    progress(counts)
            if finished:
                break
            time.sleep(0.1)
        else:  # asked to stop (SIGTERM)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        _write_results(store, batch)
        return _result(store, batch, interrupted=True)
    counts = store.counts(batch.id)
    status = "done" if counts[DONE] == counts["items"] else "failed"
    store.finish(batch.id, status)
    _write_results(store, batch)
    return _result(store, store.get(batch.id))


def _result(store: BatchStore, batch: Batch, interrupted: bool = False) -> BatchResult:
    return BatchResult(
        batch_id=batch.id,
        crew=batch.crew,
        items=store.items(batch.id),
        counts=store.counts(batch.id),
        out=batch.out,
        status=batch.status,
        interrupted=interrupted,
    )


def _spent(store: BatchStore, batch: Batch) -> bool:
    """Whether the batch's budget is spent (counted only for a batch that has one)."""
    if batch.max_tokens is None and batch.max_cost_usd is None:
        return False
    spent = store.counts(batch.id)
    return (batch.max_tokens is not None and spent["tokens"] >= batch.max_tokens) or (
        batch.max_cost_usd is not None and spent["cost_usd"] >= batch.max_cost_usd
    )


def _write_results(store: BatchStore, batch: Batch) -> None:
    """Every finished item, a JSON line each, in the order they finished. Whoever writes (the
    batch process, a worker's item) reads and writes under a lock on the file, so a slower
    writer never puts back an older list."""
    if batch.out is None:
        return
    out = Path(batch.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        finished = [i for i in store.items(batch.id) if i.status in FINISHED]
        lines = [json.dumps(_record(i), ensure_ascii=False, default=str) for i in finished]
        write_atomic(out, "".join(f"{line}\n" for line in lines))


def _record(item: Item) -> dict[str, Any]:
    return {
        "id": item.item_id,
        "status": item.status,
        "output": item.output,
        "error": item.error,
        "run_id": item.run_id,
        "tokens": item.tokens,
        "cost_usd": item.cost_usd,
        "inputs": item.inputs,
    }


def run_item(runner: CrewRunner, batch_id: str, item_id: str) -> str:
    """One batch item, once: skipped when the batch's budget is spent, resumed from the run
    a killed attempt left, its outcome recorded with the item (never raised)."""
    runner.admit()
    try:
        return _run_item(runner, batch_id, item_id)
    finally:
        runner.leave()


def _run_item(runner: CrewRunner, batch_id: str, item_id: str) -> str:
    from crewyard.dispatcher import RunFailed

    store = runner.batches
    batch: Batch | None = None
    try:
        batch, item = store.get(batch_id), store.item(batch_id, item_id)
        if item.status in FINISHED:  # a recovered step whose item was recorded
            return item.status
        if _spent(store, batch):
            store.finish_item(
                batch_id, item_id, SKIPPED, error="the batch's budget was spent before it"
            )
            return SKIPPED
        earlier = runner.earlier(item.run_id)
        if earlier is not None and earlier.status == "done":  # killed just after its run
            store.finish_item(
                batch_id,
                item_id,
                DONE,
                output=earlier.output,
                tokens=int(earlier.usage.get("total_tokens", 0)),
                cost_usd=earlier.cost_usd,
            )
            return DONE
        run_id = new_run_id()
        store.start_item(batch_id, item_id, run_id)
        try:
            result = runner.run_crew(
                batch.crew,
                item.inputs,
                run_id,
                models=batch.models,
                resume=earlier.id if earlier is not None else None,
                trace_parent=runner.trace_parents.get(batch_id),
            )
        except RunFailed as exc:
            failed = exc.result
            store.finish_item(
                batch_id,
                item_id,
                FAILED,
                run_id=failed.run_id,
                output=failed.output or None,
                error=failed.error or str(exc),
                tokens=int(failed.usage.get("total_tokens", 0)),
                cost_usd=failed.cost,
            )
            return FAILED
        except CrewyardError as exc:  # a crew or input that no longer loads, a bad place
            store.finish_item(batch_id, item_id, FAILED, error=str(exc))
            return FAILED
        except Exception as exc:  # never fatal to the batch: recorded with the item
            store.finish_item(batch_id, item_id, FAILED, error=f"{type(exc).__name__}: {exc}")
            return FAILED
        store.finish_item(
            batch_id,
            item_id,
            DONE,
            run_id=result.run_id,
            output=result.output,
            tokens=int(result.usage.get("total_tokens", 0)),
            cost_usd=result.cost,
        )
        return DONE
    finally:
        if batch is not None:
            _write_results(store, batch)  # a worker's items reach the file as they finish
