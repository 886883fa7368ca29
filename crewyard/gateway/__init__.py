"""The model gateway, the only LiteLLM importer: `Gateway` (core), one call's attempts
(call), the `local/` and `scripted/` providers (providers), and what a call records."""

from __future__ import annotations

import logging
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm

litellm.telemetry = False
litellm.suppress_debug_info = True
# LiteLLM logs every failed attempt at ERROR; crewyard records each attempt itself.
for _name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy"):
    logging.getLogger(_name).setLevel(logging.CRITICAL)

from crewyard.gateway.core import Gateway  # noqa: E402
from crewyard.gateway.records import CallRecord, Completion  # noqa: E402

__all__ = ["CallRecord", "Completion", "Gateway"]
