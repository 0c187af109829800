"""Scans started by the service: background tasks under a concurrency limit.

Each scan runs in a child process (:mod:`apigrade.fleet.isolation`); the task in the
serving loop only waits for it, so a hostile target never slows the API or the dashboard.
On shutdown every task is cancelled: running scans are killed with their processes and,
like scans still queued, marked failed with ``scan interrupted``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from apigrade.fleet.results import Results
from apigrade.fleet.runner import (
    INTERRUPTED,
    FleetResult,
    new_job_id,
    options_for,
    scan_one,
)
from apigrade.fleet.targets import FleetTarget
from apigrade.scan_options import ScanOptions


@dataclass(frozen=True)
class ScanRequestData:
    """A validated scan request."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()
    cookie: str | None = None
    max_requests: int | None = None


class ScanJobs:
    """Starts scans from the running loop (each in its own child process); each stores
    its own outcome under its job id."""

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
            cap = min(req.max_requests, options.max_requests)
            options = options.model_copy(update={"max_requests": cap})
        try:
            async with self._sem:
                return await scan_one(FleetTarget(req.url, req.headers, req.cookie), options,
                                      job, self.results, "service", mark_start=False)
        except asyncio.CancelledError:  # queued or running: never left "running"
            self.results.fail(job, req.url, INTERRUPTED)  # no await: cancelled already
            raise

    async def close(self) -> None:
        """Cancel every scan: running ones are killed; all are marked interrupted."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
