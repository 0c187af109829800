"""Concurrency limits for a fleet: a global limit and at most K scans per host at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit


def host_key(url: str) -> str:
    """The politeness key: the host name without port (ports of one host share a machine)."""
    return (urlsplit(url).hostname or "").lower()


class Limits:
    """``async with limits.slot(url):`` waits for a per-host slot, then a global one.

    The host slot is taken first so that scans queued behind a busy host never hold a
    global slot while they wait: other hosts keep going.
    """

    def __init__(self, parallel: int, per_host: int) -> None:
        if parallel < 1 or per_host < 1:
            raise ValueError("limits must be at least 1")
        self.parallel = parallel
        self.per_host = per_host
        self._global = asyncio.Semaphore(parallel)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.in_flight = 0
        self.peak = 0

    def _host(self, url: str) -> asyncio.Semaphore:
        key = host_key(url)
        if key not in self._hosts:
            self._hosts[key] = asyncio.Semaphore(self.per_host)
        return self._hosts[key]

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        async with self._host(url), self._global:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1
