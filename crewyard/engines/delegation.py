"""Delegation budget and loop detection for manager agents (engine-neutral).

Managers that delegate in circles are the most reported hierarchical failure: this reads each
manager reply, counts delegations, and stops the run when the budget is spent or the same
delegation repeats, before more tokens are burnt."""

from __future__ import annotations

import json
import re

from crewyard.errors import EngineError

_ACTION = re.compile(r"Action:\s*(?P<tool>[^\n]+)\s*\nAction Input:\s*(?P<args>.*)", re.DOTALL)
DELEGATION_TOOLS = ("delegate work to coworker", "ask question to coworker")


class DelegationStopped(EngineError):
    """The manager spent its delegation budget or repeated itself."""


class DelegationGuard:
    def __init__(self, max_delegations: int, max_repeats: int) -> None:
        self.max_delegations = max_delegations
        self.max_repeats = max_repeats
        self.delegations: list[tuple[str, str]] = []
        # Once stopped, stays stopped: engines retry failed calls, and each retry must fail
        # at once instead of asking the model again.
        self.stopped: DelegationStopped | None = None

    def refuse_if_stopped(self) -> None:
        if self.stopped is not None:
            raise self.stopped

    @staticmethod
    def parse(reply: str) -> tuple[str, str] | None:
        """(coworker, request) when the reply delegates, else None."""
        match = _ACTION.search(reply)
        if not match or match["tool"].strip().strip("`").lower() not in DELEGATION_TOOLS:
            return None
        raw = match["args"].strip()
        try:  # the first JSON object: what follows (an Observation, a fence) is not its
            args, _ = json.JSONDecoder().raw_decode(raw[max(raw.find("{"), 0) :])
        except ValueError:
            return ("?", " ".join(raw.split()))
        if not isinstance(args, dict):
            return ("?", " ".join(raw.split()))
        request = str(args.get("task") or args.get("question") or "")
        return (str(args.get("coworker", "?")).strip().lower(), " ".join(request.split()).lower())

    def check(self, reply: str) -> tuple[str, str] | None:
        """Record a delegation in reply; raise DelegationStopped past the budget or on a loop."""
        found = self.parse(reply)
        if found is None:
            return None
        self.delegations.append(found)
        if len(self.delegations) > self.max_delegations:
            self.stopped = DelegationStopped(
                f"the manager tried delegation {len(self.delegations)} with a budget of "
                f"{self.max_delegations}; stopped (engine_options.max_delegations)"
            )
        recent = self.delegations[-self.max_repeats :]
        if len(recent) == self.max_repeats and self.max_repeats > 1 and len(set(recent)) == 1:
            self.stopped = DelegationStopped(
                f"the manager delegated the same request to {found[0]!r} {self.max_repeats} "
                "times in a row; stopped as a loop (engine_options.max_repeats)"
            )
        self.refuse_if_stopped()
        return found
