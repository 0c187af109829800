"""Request budget and rate limit."""

from __future__ import annotations

import asyncio
import time


class BudgetExhausted(Exception):
    """The scan's total request budget is spent."""


class Budget:
    """Counts requests; refuses the one past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self) -> None:
        if self.used >= self.limit:
            raise BudgetExhausted
        self.used += 1


class RateLimiter:
    """At most ``rate`` request starts per second, evenly spaced; ``None`` means no limit."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next request may start.

        The lock is held while sleeping and the next slot is measured from the actual
        wake-up, so a stalled event loop can never release a burst of overdue starts.
        """
        if not self.interval:
            return
        async with self._lock:
            delay = self._next - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = time.monotonic() + self.interval
