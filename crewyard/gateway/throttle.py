"""Per-alias request and token rates (models.yaml rpm / tpm): a call waits for a free slot in
the last minute instead of earning a 429 from the provider."""

from __future__ import annotations

import threading
import time
from collections import deque

WINDOW_S = 60.0


class Throttle:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: dict[str, deque[tuple[float, int]]] = {}

    def reserve(self, alias: str, rpm: int | None, tpm: int | None, tokens: int) -> float:
        """Book a call now, or say how many seconds to wait before asking again (0: booked)."""
        if rpm is None and tpm is None:
            return 0.0
        now = time.monotonic()
        with self._lock:
            sent = self._sent.setdefault(alias, deque())
            while sent and sent[0][0] <= now - WINDOW_S:
                sent.popleft()
            if rpm is not None and len(sent) >= rpm:
                return sent[0][0] + WINDOW_S - now
            if tpm is not None and sent:
                used = sum(t for _, t in sent)
                if used + tokens > tpm:  # wait until enough of the window has passed
                    freed = 0
                    for ts, t in sent:
                        freed += t
                        if used - freed + tokens <= tpm:
                            return ts + WINDOW_S - now
                    return sent[-1][0] + WINDOW_S - now  # bigger than tpm: wait for an empty window
            sent.append((now, tokens))
            return 0.0
