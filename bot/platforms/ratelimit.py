"""Sending limits the platform enforces (or punishes), kept on our side so the outbox waits
instead of the platform refusing or silently dropping messages."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from core.platform import DeliveryError

__all__ = ["Pacer", "RateLimiter"]

P = TypeVar("P")  # one part of a message
R = TypeVar("R")  # what sending one part returns


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


class Pacer:
    """A per-minute limit per destination, and the memory of texts sent as several messages
    that stopped half-way, so the outbox's retry sends only the rest (for adapters that must
    split a text and cannot edit: WeCom, wxpy)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.limiter = RateLimiter(clock)
        self._done: dict[tuple, int] = {}  # key of a half-sent text -> how many of its parts went out

    async def send(
        self,
        dest: str,
        cap: int,
        parts: Sequence[P],
        send_one: Callable[[P], Awaitable[R]],
        key: tuple | None = None,
    ) -> R | None:
        """Send `parts` in order through `send_one` (which raises DeliveryError) within `cap` a
        minute to `dest`; return the first part's result. With a `key`, what went out before a
        failure is remembered, and a text longer than a minute's worth goes out in parts.

        :raises DeliveryError: with `retry_after` when the limit says wait.
        """
        done = self._done.get(key, 0) if key else 0
        n = min(len(parts) - done, cap) if key else len(parts)
        wait = self.limiter.reserve(dest, cap, n)
        if wait:
            raise DeliveryError(f"{dest} at {cap} messages a minute; waiting {wait:.0f}s", retry_after=wait)
        first: R | None = None
        for i, part in enumerate(parts[done : done + n], done):
            try:
                sent = await send_one(part)
            except DeliveryError:
                if key and i:
                    self._remember(key, i)
                raise
            first = first or sent
        if key and done + n < len(parts):
            self._remember(key, done + n)
            wait = self.limiter.wait_for(dest, cap, 1)
            raise DeliveryError(
                f"{dest}: {done + n} of {len(parts)} messages sent; the rest in {wait:.0f}s", retry_after=wait or 1.0
            )
        if key:
            self._done.pop(key, None)
        return first

    def _remember(self, key: tuple, done: int) -> None:
        if len(self._done) > 1000:  # texts whose rows died: forget them
            self._done.clear()
        self._done[key] = done
