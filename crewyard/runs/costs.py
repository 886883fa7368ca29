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


def cost_report(store: RunStore, by: str, since_days: float | None = None) -> list[dict[str, Any]]:
    """Tokens, dollars and calls grouped by crew, model, agent or day (failed calls counted)."""
    if by not in COST_GROUPS:
        raise ConfigError(f"cannot group costs by {by!r}", hint=f"one of {', '.join(COST_GROUPS)}")
    key = COST_GROUPS[by]
    where = "WHERE c.ts >= ?" if since_days else ""
    args: tuple[Any, ...] = (time.time() - since_days * 86400,) if since_days else ()
    query = (
        f"SELECT {key} AS k, SUM(NOT c.cached) AS calls,"
        " SUM(CASE WHEN c.cached THEN 0 ELSE c.prompt_tokens END) AS prompt_tokens,"
        " SUM(CASE WHEN c.cached THEN 0 ELSE c.completion_tokens END) AS completion_tokens,"
        " SUM(c.cost_usd) AS cost_usd, SUM(c.error IS NOT NULL) AS failed_calls,"
        # a replayed call is marked cached (nothing spent) but saved nothing either
        " SUM(c.cached AND NOT c.replayed) AS cache_hits,"
        " SUM(CASE WHEN c.cached AND NOT c.replayed THEN c.prompt_tokens + c.completion_tokens"
        " ELSE 0 END) AS tokens_saved, SUM(c.cost_saved) AS cost_saved"
        f" FROM model_calls c JOIN runs r ON r.id = c.run_id {where}"
        " GROUP BY k ORDER BY cost_usd DESC, prompt_tokens + completion_tokens DESC"
    )
    rows = store.query(query, args)
    return [{by: r["k"], **{k: r[k] for k in r.keys() if k != "k"}} for r in rows]  # noqa: SIM118
