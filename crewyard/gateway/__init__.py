"""The model gateway: every model call goes through `Gateway` (core), a run through its view
(`Gateway.for_run`, bound). Importing this package imports no LiteLLM and no llama.cpp: LiteLLM
(router) loads when a model it serves is first called, llama.cpp when the embedded model is.
`Gateway` and `RunGateway` are imported on first use, so reading models.yaml (config) for
--dry-run stays light."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crewyard.gateway.records import CallRecord, Completion

if TYPE_CHECKING:
    from crewyard.gateway.bound import RunGateway
    from crewyard.gateway.core import Gateway


def __getattr__(name: str) -> Any:
    if name == "Gateway":
        from crewyard.gateway.core import Gateway

        return Gateway
    if name == "RunGateway":
        from crewyard.gateway.bound import RunGateway

        return RunGateway
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["CallRecord", "Completion", "Gateway", "RunGateway"]
