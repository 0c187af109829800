"""Fleet results in the shared history database, written idempotently by job id.

Every scan the fleet runs is a *job* whose id is chosen before it starts (the Celery task
id in distributed mode) and is also the stored ``scan_id``. A task that runs twice —
re-queued after its worker died, or redelivered after the visibility timeout — claims the
same row again and its report *replaces* the earlier one: a target ends with exactly one
completed scan.

The tables belong to :mod:`apigrade.store` (scans, findings). Its public ``Store`` API
assigns scan ids itself and ``finish`` inserts findings without clearing old ones, so the
two idempotent writes below (:meth:`Results.start`, :meth:`Results.complete`) use its ORM
models directly, each in one transaction. Everything else goes through ``Store``.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from apigrade import __version__
from apigrade.engine.scanner import ScanOptions
from apigrade.errors import UsageError
from apigrade.model import ScanReport
from apigrade.store import StoreError, open_store
from apigrade.store.database import reason
from apigrade.store.models import COMPLETE, INCOMPLETE, RUNNING, SCAN, FindingRow, ScanRow
from apigrade.store.repository import effective_status, target_key
from apigrade.store.sanitize import redact_report, stored_options


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(text: str, limit: int | None = None) -> str:
    text = text.replace("\x00", "\\x00")  # PostgreSQL refuses NUL
    return text if limit is None else text[:limit]


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
    def of(cls, row: ScanRow) -> ScanRecord:
        state = effective_status(row)
        status = {RUNNING: "running", COMPLETE: "completed"}.get(
            state, "incomplete" if row.report is not None else "failed"
        )
        fleet = _fleet_meta(row)
        return cls(
            scan_id=row.id, target=row.target, status=status, score=row.score,
            grade=row.grade, error=row.error, attempts=int(fleet.get("attempts", 1)),
            worker=fleet.get("worker"), created_at=row.created_at,
        )


def _options(row: ScanRow) -> dict[str, Any]:
    try:
        data = json.loads(row.options or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _fleet_meta(row: ScanRow) -> dict[str, Any]:
    meta = _options(row).get("fleet")
    return meta if isinstance(meta, dict) else {}


class Results:
    """The fleet's handle on the history database (thread-safe)."""

    def __init__(self, db_url: str | None = None) -> None:
        self.store = open_store(db_url)
        self.engine = self.store.engine

    def close(self) -> None:
        self.store.close()

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as s, s.begin():
                yield s
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot use the history database: {reason(exc)}") from None

    # -- writes (idempotent by job id) ----------------------------------------------------
    def start(
        self, job_id: str, target: str, worker: str | None = None,
        options: ScanOptions | None = None,
    ) -> None:
        """Claim the job's row as running; a re-run counts one more attempt."""
        with self._tx() as s:
            row = s.get(ScanRow, job_id)
            if row is None:
                opts = stored_options(options or ScanOptions())
                opts["fleet"] = {"attempts": 1, "worker": worker}
                s.add(ScanRow(
                    id=job_id, target=_clean(target), target_key=target_key(target),
                    status=RUNNING, created_at=_now(), findings_count=0, requests_sent=0,
                    tool_version=__version__[:32], options=json.dumps(opts), kind=SCAN,
                    pid=os.getpid(), host=socket.gethostname()[:255],
                ))
                return
            opts = _options(row)
            fleet = _fleet_meta(row)
            opts["fleet"] = {"attempts": int(fleet.get("attempts", 1)) + 1, "worker": worker}
            row.options = json.dumps(opts)
            if row.status != COMPLETE:  # a finished run stays visible until replaced
                row.status = RUNNING
                row.error = None
                row.finished_at = None
            row.pid = os.getpid()
            row.host = socket.gethostname()[:255]

    def complete(
        self, job_id: str, report: ScanReport, options: ScanOptions | None = None
    ) -> ScanReport:
        """Store the job's report, replacing any earlier run's; returns it with ``scan_id``."""
        report = redact_report(report, options or ScanOptions())
        report = report.model_copy(update={"scan_id": job_id})
        status = COMPLETE if report.complete else INCOMPLETE
        with self._tx() as s:
            row = s.get(ScanRow, job_id)
            if row is None:  # complete() without start(): still exactly one row
                row = ScanRow(
                    id=job_id, target_key=target_key(report.target), created_at=_now(),
                    tool_version=__version__[:32], options="{}", kind=SCAN,
                    pid=os.getpid(), host=socket.gethostname()[:255],
                )
                s.add(row)
            s.execute(delete(FindingRow).where(FindingRow.scan_id == job_id))
            row.target = _clean(report.target)
            row.status = status
            row.finished_at = _now()
            row.error = None
            row.score = report.score if status == COMPLETE else None
            row.grade = report.grade if status == COMPLETE else None
            row.findings_count = len(report.findings)
            row.requests_sent = report.requests_sent
            row.report = report.model_dump_json()
            s.flush()
            s.add_all(
                FindingRow(
                    scan_id=job_id, finding_id=f.id[:64], check_id=f.check_id[:128],
                    severity=f.severity.value, category=f.category.value,
                    url=_clean(f.url), title=_clean(f.title),
                )
                for f in {f.id: f for f in report.findings}.values()
            )
        return report

    def fail(self, job_id: str, target: str, error: str) -> None:
        """Mark a job failed (incomplete, no report) unless a run of it already completed."""
        with self._tx() as s:
            row = s.get(ScanRow, job_id)
            if row is None:
                s.add(ScanRow(
                    id=job_id, target=_clean(target), target_key=target_key(target),
                    status=INCOMPLETE, created_at=_now(), finished_at=_now(),
                    findings_count=0, requests_sent=0, tool_version=__version__[:32],
                    options="{}", kind=SCAN, error=_clean(error, 2000),
                ))
            elif row.status != COMPLETE:
                row.status = INCOMPLETE
                row.error = _clean(error, 2000)
                row.finished_at = _now()

    # -- reads ------------------------------------------------------------------------------
    def get(self, scan_id: str) -> ScanRecord | None:
        with self._tx() as s:
            row = s.get(ScanRow, scan_id)
            return ScanRecord.of(row) if row is not None else None

    def report(self, scan_id: str) -> ScanReport | None:
        """The stored report, or None (unknown id, still running, failed)."""
        with self._tx() as s:
            row = s.get(ScanRow, scan_id)
            raw = row.report if row is not None else None
        return ScanReport.model_validate_json(raw) if raw else None

    def scans(
        self, target: str | None = None, limit: int = 50, status: str | None = None
    ) -> list[ScanRecord]:
        """Scans newest first, of one target or all, optionally of one status."""
        query = select(ScanRow).where(ScanRow.kind == SCAN)
        if target:
            query = query.where(ScanRow.target_key == target_key(target))
        if status == "completed":
            query = query.where(ScanRow.status == COMPLETE)
        query = query.order_by(ScanRow.created_at.desc(), ScanRow.id.desc())
        with self._tx() as s:
            rows = s.scalars(query.limit(limit if status in (None, "completed") else 2000)).all()
            records = [ScanRecord.of(r) for r in rows]
        if status not in (None, "completed"):
            records = [r for r in records if r.status == status][:limit]
        return records

    def history(self, target: str, limit: int = 30) -> list[ScanRecord]:
        """Completed scans of one target, oldest first (for trends)."""
        return list(reversed(self.scans(target, limit, status="completed")))

    def latest_by_target(self, limit: int = 500) -> list[ScanRecord]:
        """Each target's newest scan, targets sorted by URL."""
        newest = (
            select(ScanRow.target_key, func.max(ScanRow.created_at).label("at"))
            .where(ScanRow.kind == SCAN)
            .group_by(ScanRow.target_key)
            .subquery()
        )
        query = (
            select(ScanRow)
            .join(newest, (ScanRow.target_key == newest.c.target_key)
                  & (ScanRow.created_at == newest.c.at))
            .where(ScanRow.kind == SCAN)
            .order_by(ScanRow.target_key)
            .limit(limit)
        )
        with self._tx() as s:
            rows = s.scalars(query).all()
            unique: dict[str, ScanRecord] = {}
            for row in rows:
                unique.setdefault(row.target_key, ScanRecord.of(row))
        return list(unique.values())

    def previous_report(self, target: str, before: str) -> ScanReport | None:
        """The newest completed scan of ``target`` other than ``before``."""
        try:
            prev = self.store.latest(target, exclude=before)
        except UsageError:
            return None
        return self.report(prev.scan_id) if prev is not None else None

    def completed_count(self, target: str) -> int:
        """How many completed scans a target has (tests, diagnostics)."""
        query = select(func.count()).select_from(ScanRow).where(
            ScanRow.target_key == target_key(target), ScanRow.status == COMPLETE
        )
        with self._tx() as s:
            return int(s.scalar(query) or 0)
