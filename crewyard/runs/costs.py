"""Spend across runs: tokens, dollars, calls and cache savings grouped by crew, model, agent or
day (python main.py runs cost, crewyard.costs())."""

from __future__ import annotations

import time
from typing import Any

from crewyard.errors import ConfigError
from crewyard.runs.store import RunStore

COST_GROUPS = {
    "crew": "r.crew",
    "model": "c.model",
    "agent": "COALESCE(c.agent, '-')",
    "day": "date(c.ts, 'unixepoch')",
}
# the one expression the two dialects spell differently
POSTGRES_GROUPS = {"day": "to_char(to_timestamp(c.ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"}


def cost_report(store: RunStore, by: str, since_days: float | None = None) -> list[dict[str, Any]]:
    """Tokens, dollars and calls grouped by crew, model, agent or day (failed calls counted)."""
    if by not in COST_GROUPS:
        raise ConfigError(f"cannot group costs by {by!r}", hint=f"one of {', '.join(COST_GROUPS)}")
    key = (POSTGRES_GROUPS if store.dialect == "postgresql" else {}).get(by, COST_GROUPS[by])
    where = "WHERE c.ts >= ?" if since_days else ""
    args: tuple[Any, ...] = (time.time() - since_days * 86400,) if since_days else ()
    hit = "c.cached <> 0 AND c.replayed = 0"  # a replayed call: nothing spent, nothing saved
    query = (  # flags are 0/1 integers and sums are CASEs: SQLite and Postgres read it alike
        f"SELECT * FROM (SELECT {key} AS k, SUM(CASE WHEN c.cached = 0 THEN 1 ELSE 0 END) AS calls,"
        " SUM(CASE WHEN c.cached <> 0 THEN 0 ELSE c.prompt_tokens END) AS prompt_tokens,"
        " SUM(CASE WHEN c.cached <> 0 THEN 0 ELSE c.completion_tokens END) AS completion_tokens,"
        " SUM(c.cost_usd) AS cost_usd,"
        " SUM(CASE WHEN c.error IS NOT NULL THEN 1 ELSE 0 END) AS failed_calls,"
        f" SUM(CASE WHEN {hit} THEN 1 ELSE 0 END) AS cache_hits,"
        f" SUM(CASE WHEN {hit} THEN c.prompt_tokens + c.completion_tokens ELSE 0 END)"
        " AS tokens_saved, SUM(c.cost_saved) AS cost_saved"
        f" FROM model_calls c JOIN runs r ON r.id = c.run_id {where} GROUP BY {key}) AS spent"
        " ORDER BY cost_usd DESC, prompt_tokens + completion_tokens DESC"
    )
    rows = store.query(query, args)
    return [{by: r["k"], **{k: r[k] for k in r.keys() if k != "k"}} for r in rows]  # noqa: SIM118
