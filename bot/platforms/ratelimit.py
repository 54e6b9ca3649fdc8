"""Sending limits the platform enforces (or punishes), kept on our side so the outbox waits
instead of the platform refusing or silently dropping messages."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """Sliding one-minute windows per destination. `reserve` takes slots or says how long to wait."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._sent: dict[str, deque] = {}

    def wait_for(self, dest: str, cap: int, n: int = 1) -> float:
        """Seconds until `n` (at most `cap`) more may be sent to `dest`; 0 when now."""
        n = min(n, cap)
        now = self.clock()
        q = self._sent.setdefault(dest, deque())
        while q and now - q[0] >= 60:
            q.popleft()
        if len(q) + n <= cap:
            return 0.0
        return max(0.1, 60 - (now - q[len(q) + n - cap - 1]))

    def reserve(self, dest: str, cap: int, n: int = 1) -> float:
        """Take `n` slots now and return 0, or take none and return the seconds to wait."""
        if n > cap:
            raise ValueError(f"{n} messages cannot fit a limit of {cap} a minute; send them in parts")
        wait = self.wait_for(dest, cap, n)
        if not wait:
            self._sent[dest].extend([self.clock()] * n)
        return wait
