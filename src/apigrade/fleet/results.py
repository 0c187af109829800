"""Fleet results in the shared history database, written idempotently by job id.

Every scan the fleet runs is a *job* whose id is chosen before it starts (the Celery task
id in distributed mode) and is also the stored ``scan_id``. A task that runs twice —
re-queued after its worker died, or redelivered after the visibility timeout — claims the
same row again and its report *replaces* the earlier one: a target ends with exactly one
completed scan.

The tables belong to :mod:`apigrade.store`; everything here goes through its ``Store``:
``begin(scan_id=...)`` claims a job's row (again), ``finish`` replaces its report and
findings, ``mark_incomplete`` never downgrades a completed row, and ``scans`` /
``latest_per_target`` serve the lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apigrade.errors import UsageError
from apigrade.model import ScanReport
from apigrade.scan_options import ScanOptions
from apigrade.store import open_store
from apigrade.store.models import COMPLETE, INCOMPLETE, RUNNING, SCAN
from apigrade.store.repository import ScanRecord as StoredScan
from apigrade.store.sanitize import redact_report

#: The fleet's status names -> the store's (``incomplete`` and ``failed`` split on the report).
_STORE_STATUS = {"running": RUNNING, "completed": COMPLETE, "incomplete": INCOMPLETE,
                 "failed": INCOMPLETE}


@dataclass(frozen=True)
class ScanRecord:
    """One stored scan as the fleet, the service and the monitor show it.

    ``status`` is ``running``, ``completed``, ``incomplete`` (a partial report) or
    ``failed`` (no report).
    """

    scan_id: str
    target: str
    status: str
    score: int | None
    grade: str | None
    error: str | None
    attempts: int
    worker: str | None
    created_at: datetime

    @property
    def created_iso(self) -> str:
        return self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    def to_dict(self) -> dict[str, Any]:
        return {
            "scan_id": self.scan_id,
            "target": self.target,
            "status": self.status,
            "score": self.score,
            "grade": self.grade,
            "error": self.error,
            "attempts": self.attempts,
            "created_at": self.created_iso,
        }

    @classmethod
    def of(cls, rec: StoredScan) -> ScanRecord:
        status = {RUNNING: "running", COMPLETE: "completed"}.get(
            rec.status, "incomplete" if rec.has_report else "failed"
        )
        return cls(
            scan_id=rec.scan_id, target=rec.target, status=status, score=rec.score,
            grade=rec.grade, error=rec.error, attempts=rec.attempts, worker=rec.worker,
            created_at=rec.created_at,
        )


class Results:
    """The fleet's handle on the history database (thread-safe)."""

    def __init__(self, db_url: str | None = None) -> None:
        self.store = open_store(db_url)
        self.engine = self.store.engine

    def close(self) -> None:
        self.store.close()

    # -- writes (idempotent by job id) ----------------------------------------------------
    def start(
        self, job_id: str, target: str, worker: str | None = None,
        options: ScanOptions | None = None,
    ) -> None:
        """Claim the job's row as running; a re-run counts one more attempt."""
        opts = (options or ScanOptions()).stored()
        self.store.begin(target, opts, scan_id=job_id, worker=worker, kind=SCAN)

    def _ensure(self, job_id: str, target: str) -> None:
        """complete()/fail() without start(): still exactly one row."""
        if self.get(job_id) is None:
            self.store.begin(target, {}, scan_id=job_id, kind=SCAN)

    def complete(
        self, job_id: str, report: ScanReport, options: ScanOptions | None = None
    ) -> ScanReport:
        """Store the job's report, replacing any earlier run's; returns it with ``scan_id``."""
        report = redact_report(report, options or ScanOptions())
        self._ensure(job_id, report.target)
        return self.store.finish(job_id, report)

    def fail(self, job_id: str, target: str, error: str) -> None:
        """Mark a job failed (incomplete, no report) unless a run of it already completed."""
        self._ensure(job_id, target)
        self.store.mark_incomplete(job_id, error)

    # -- reads ------------------------------------------------------------------------------
    def get(self, scan_id: str) -> ScanRecord | None:
        """The scan with exactly this id, or None."""
        try:
            rec = self.store.get(scan_id)
        except UsageError:
            return None
        return ScanRecord.of(rec) if rec.scan_id == scan_id else None

    def report(self, scan_id: str) -> ScanReport | None:
        """The stored report, or None (unknown id, still running, failed)."""
        if self.get(scan_id) is None:
            return None
        try:
            return self.store.report(scan_id)
        except UsageError:
            return None

    def scans(
        self, target: str | None = None, limit: int = 50, status: str | None = None
    ) -> list[ScanRecord]:
        """Scans newest first, of one target or all, optionally of one status."""
        wanted = _STORE_STATUS.get(status) if status is not None else None
        if status is not None and wanted is None:
            raise UsageError(f"unknown scan status {status!r}")
        split = status in ("incomplete", "failed")  # same store status, told apart by report
        stored = self.store.scans(target, wanted, 2000 if split else limit, kind=SCAN)
        records = [ScanRecord.of(r) for r in stored]
        return [r for r in records if r.status == status][:limit] if split else records

    def history(self, target: str, limit: int = 30) -> list[ScanRecord]:
        """Completed scans of one target, oldest first (for trends)."""
        return list(reversed(self.scans(target, limit, status="completed")))

    def latest_by_target(self, limit: int = 500) -> list[ScanRecord]:
        """Each target's newest scan, targets sorted by URL."""
        return [ScanRecord.of(r) for r in self.store.latest_per_target(kind=SCAN, limit=limit)]

    def previous_report(self, target: str, before: str) -> ScanReport | None:
        """The newest completed scan of ``target`` other than ``before``."""
        try:
            prev = self.store.latest(target, exclude=before)
        except UsageError:
            return None
        return self.report(prev.scan_id) if prev is not None else None

    def completed_count(self, target: str) -> int:
        """How many completed scans a target has (tests, diagnostics)."""
        return len(self.store.scans(target, COMPLETE, 100_000))
