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

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit


class RateLimiter:
    """At most ``rate`` request starts per second, evenly spaced; ``None`` means no limit."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)
