"""The model gateway: every model call goes through `Gateway` (core), a run through its view
(`Gateway.for_run`, bound). Importing this package imports no LiteLLM and no llama.cpp: LiteLLM
(router) loads when a model it serves is first called, llama.cpp when the embedded model is."""

from __future__ import annotations

from crewyard.gateway.bound import RunGateway
from crewyard.gateway.core import Gateway
from crewyard.gateway.records import CallRecord, Completion

__all__ = ["CallRecord", "Completion", "Gateway", "RunGateway"]
