"""Scanning a fleet from one process: one asyncio loop waits on concurrent scans, each
running in a child process of its own (:mod:`apigrade.fleet.isolation`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apigrade.errors import ApigradeError
from apigrade.fleet.isolation import scan_isolated
from apigrade.fleet.politeness import Limits
from apigrade.fleet.results import Results
from apigrade.fleet.targets import FleetTarget
from apigrade.model import ScanReport, Severity
from apigrade.redact import Redactor, describe_error, redact_text
from apigrade.report.escape import one_line
from apigrade.scan_options import ScanOptions

OnDone = Callable[[int, "FleetResult"], None]
#: the error stored for a scan cancelled before it finished (shutdown, Ctrl-C)
INTERRUPTED = "scan interrupted"


@dataclass
class FleetResult:
    """The outcome of one target; :meth:`to_json` is the contract's scan-many entry."""

    target: str
    status: str  # completed | failed
    scan_id: str | None = None
    score: int | None = None
    grade: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    #: the most severe finding's severity (for --fail-on when the report stays on a worker)
    worst: str | None = None
    report: ScanReport | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "scan_id": self.scan_id,
            "score": self.score,
            "grade": self.grade,
            "status": self.status,
            "error": self.error,
        }

    def to_task(self) -> dict[str, Any]:
        """What a Celery task returns: the contract entry plus gate inputs."""
        return {**self.to_json(), "duration_s": self.duration_s, "worst": self.worst}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FleetResult:
        keys = ("target", "status", "scan_id", "score", "grade", "error", "duration_s", "worst")
        return cls(**{k: data[k] for k in keys if k in data})

    @classmethod
    def failed(cls, target: str, error: str, scan_id: str | None = None) -> FleetResult:
        return cls(target=target, status="failed", scan_id=scan_id, error=one_line(error))


def worst_severity(report: ScanReport) -> str | None:
    """The most severe finding's severity, or None without findings."""
    worst = max(report.findings, key=lambda f: f.severity.rank, default=None)
    return worst.severity.value if worst else None


def gate_code(
    results: list[FleetResult],
    fail_under: int | None,
    fail_on: Severity | None,
    fail_on_error: bool = False,
) -> int:
    """scan-many's exit code: 3 when every target failed (or any, with ``fail_on_error``);
    1 when a gate fails for any scanned target; else 0."""
    failed = [r for r in results if r.status != "completed"]
    if results and len(failed) == len(results):
        return 3
    if fail_on_error and failed:
        return 3
    for r in results:
        if r.status != "completed":
            continue
        if fail_under is not None and (r.score or 0) < fail_under:
            return 1
        if fail_on is not None and r.worst and Severity(r.worst).rank >= fail_on.rank:
            return 1
    return 0


def new_job_id() -> str:
    """A fresh job id; it becomes the stored scan's ``scan_id``."""
    return uuid.uuid4().hex


def options_for(target: FleetTarget, base: ScanOptions) -> ScanOptions:
    """The scan options of one target: the shared ones plus its headers and cookie."""
    return base.model_copy(update={
        "headers": [*base.headers, *target.headers],
        "cookie": target.cookie if target.cookie is not None else base.cookie,
    })


async def scan_one(
    target: FleetTarget,
    base: ScanOptions,
    job_id: str,
    results: Results | None = None,
    worker: str | None = None,
    *,
    mark_start: bool = True,
) -> FleetResult:
    """Scan one target and store the outcome under ``job_id`` (idempotent).

    ``mark_start=False`` when the caller already recorded the job as running.
    """
    t0 = time.monotonic()
    stored_id = job_id if results is not None else None
    options = options_for(target, base)
    if results is not None and mark_start:
        await asyncio.to_thread(results.start, job_id, target.url, worker, options)
    try:
        report = await scan_isolated(target.url, options)  # never on this loop
    except asyncio.CancelledError:
        if results is not None:
            results.fail(job_id, target.url, INTERRUPTED)
        raise
    except ApigradeError as exc:
        outcome = FleetResult.failed(
            target.url, redact_text(str(exc), Redactor.for_scan(options)), stored_id
        )
    except Exception as exc:  # noqa: BLE001 - one broken target never ends the fleet
        why = describe_error(exc, Redactor.for_scan(options))  # never the repr
        outcome = FleetResult.failed(target.url, f"internal error: {why}", stored_id)
    else:
        if results is not None:
            report = await asyncio.to_thread(results.complete, job_id, report, options)
        return FleetResult(
            target=target.url, status="completed", scan_id=stored_id, score=report.score,
            grade=report.grade, duration_s=round(time.monotonic() - t0, 3), report=report,
            worst=worst_severity(report),
        )
    if results is not None:
        await asyncio.to_thread(results.fail, job_id, target.url, outcome.error or "")
    outcome.duration_s = round(time.monotonic() - t0, 3)
    return outcome


async def run_fleet(
    targets: list[FleetTarget],
    base: ScanOptions,
    *,
    parallel: int = 4,
    per_host: int = 2,
    results: Results | None = None,
    on_done: OnDone | None = None,
    limits: Limits | None = None,
) -> list[FleetResult]:
    """Scan every target under the limits; results come back in input order."""
    limits = limits or Limits(parallel, per_host)

    async def one(index: int, target: FleetTarget) -> FleetResult:
        async with limits.slot(target.url):
            outcome = await scan_one(target, base, new_job_id(), results)
        if on_done is not None:
            on_done(index, outcome)
        return outcome

    return list(await asyncio.gather(*(one(i, t) for i, t in enumerate(targets))))
