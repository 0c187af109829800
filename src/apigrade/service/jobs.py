"""Scans started by the service: background asyncio tasks under a concurrency limit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from apigrade.engine.scanner import ScanOptions
from apigrade.fleet.results import Results
from apigrade.fleet.runner import FleetResult, new_job_id, options_for, scan_one
from apigrade.fleet.targets import FleetTarget


@dataclass(frozen=True)
class ScanRequestData:
    """A validated scan request."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    cookie: str | None = None
    max_requests: int | None = None


class ScanJobs:
    """Starts scans in the running loop; each stores its own outcome under its job id."""

    def __init__(self, results: Results, base: ScanOptions, parallel: int) -> None:
        self.results = results
        self.base = base
        self.parallel = parallel
        self._sem: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[FleetResult]] = set()

    async def submit(self, req: ScanRequestData) -> str:
        """Record the scan as running and start it; returns its scan id at once."""
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.parallel)
        job = new_job_id()
        target = FleetTarget(req.url, req.headers, req.cookie)
        await asyncio.to_thread(self.results.start, job, req.url, "service",
                                options_for(target, self.base))
        task = asyncio.create_task(self._run(job, req))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: str, req: ScanRequestData) -> FleetResult:
        assert self._sem is not None
        options = self.base
        if req.max_requests is not None:
            options = replace(options, max_requests=min(req.max_requests, options.max_requests))
        async with self._sem:
            return await scan_one(FleetTarget(req.url, req.headers, req.cookie), options, job,
                                  self.results, "service", mark_start=False)

    async def close(self) -> None:
        """Cancel running scans (each is marked failed: interrupted)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
