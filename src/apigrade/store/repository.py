"""The history repository: insert a scan before it runs, finish it, read it back."""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from apigrade import __version__
from apigrade.engine.target import Target
from apigrade.errors import ApigradeError, UsageError
from apigrade.model import ScanReport
from apigrade.store import migrate
from apigrade.store.database import StoreError, create_db_engine, reason
from apigrade.store.location import resolve_db_url, shown
from apigrade.store.models import COMPLETE, INCOMPLETE, RUNNING, SCAN, FindingRow, ScanRow

#: A ``running`` row older than this is shown as incomplete even when its owner is unknown.
STALE_AFTER = timedelta(hours=24)
_ID = re.compile(r"^[0-9a-f]{4,32}$")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _clean(text: str, limit: int | None = None) -> str:
    """Text a database column accepts: PostgreSQL rejects NUL characters."""
    text = text.replace("\x00", "\\x00")
    return text if limit is None else text[:limit]


def target_key(url: str) -> str:
    """Origin and path without a trailing slash: ``HTTP://Host:80/api/`` -> ``http://host/api``."""
    try:
        tgt = Target.parse(url)
    except UsageError:
        return _clean(url.strip(), 512)
    return _clean(tgt.origin + urlsplit(tgt.url).path.rstrip("/"), 512)


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # no cheap, safe probe: rely on STALE_AFTER
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def effective_status(row: ScanRow, now: datetime | None = None) -> str:
    """``running`` only while the scanning process can still finish it."""
    if row.status != RUNNING:
        return row.status
    if row.pid and row.host == socket.gethostname() and not _alive(row.pid):
        return INCOMPLETE
    if (now or _now()) - row.created_at > STALE_AFTER:
        return INCOMPLETE
    return RUNNING


@dataclass(frozen=True)
class ScanRecord:
    """A stored scan as the commands see it (``status`` already accounts for dead owners)."""

    scan_id: str
    target: str
    kind: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    score: int | None
    grade: str | None
    findings: int
    requests_sent: int
    baseline_id: str | None
    error: str | None
    has_report: bool
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: ScanRow) -> ScanRecord:
        try:
            options = json.loads(row.options or "{}")
        except ValueError:
            options = {}
        return cls(
            scan_id=row.id,
            target=row.target,
            kind=row.kind or SCAN,
            status=effective_status(row),
            created_at=row.created_at,
            finished_at=row.finished_at,
            score=row.score,
            grade=row.grade,
            findings=row.findings_count,
            requests_sent=row.requests_sent,
            baseline_id=row.baseline_id,
            error=row.error,
            has_report=row.report is not None,
            options=options if isinstance(options, dict) else {},
        )

    def to_json(self) -> dict[str, Any]:
        """The record for ``history --format json``."""
        return {
            "scan_id": self.scan_id,
            "target": self.target,
            "kind": self.kind,
            "status": self.status,
            "started_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "score": self.score,
            "grade": self.grade,
            "findings": self.findings,
            "requests_sent": self.requests_sent,
            "baseline_id": self.baseline_id,
            "error": self.error,
        }


class Store:
    """Scans in one database. Every method is one short transaction."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self.engine = engine
        self.url = url

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def shown_url(self) -> str:
        """The database URL for messages, password hidden."""
        return shown(self.url)

    @contextmanager
    def _session(self, write: bool = False) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            verb = "write to" if write else "read"
            raise StoreError(f"cannot {verb} the history database: {reason(exc)}") from None

    # -- writing ------------------------------------------------------------
    def begin(
        self,
        target: str,
        options: dict[str, Any] | None = None,
        *,
        kind: str = SCAN,
        baseline_id: str | None = None,
    ) -> str:
        """Insert a ``running`` row before the scan starts; returns the new scan id."""
        scan_id = uuid.uuid4().hex[:12]
        row = ScanRow(
            id=scan_id,
            target=_clean(target),
            target_key=target_key(target),
            status=RUNNING,
            created_at=_now(),
            findings_count=0,
            requests_sent=0,
            tool_version=__version__[:32],
            options=json.dumps(options or {}),
            kind=kind,
            baseline_id=baseline_id,
            pid=os.getpid(),
            host=socket.gethostname()[:255],
        )
        with self._session(write=True) as s:
            s.add(row)
        return scan_id

    def finish(
        self, scan_id: str, report: ScanReport, discovery: dict[str, Any] | None = None
    ) -> ScanReport:
        """Store the final report; the row is complete only when the report is.

        ``discovery`` (what discovery learned, e.g. ``{"specs": [...]}``) is kept with
        the options so that ``verify`` can repeat discovery cheaply.
        """
        report = report.model_copy(update={"scan_id": scan_id})
        status = COMPLETE if report.complete else INCOMPLETE
        self._write_report(scan_id, report, status, None, discovery)
        return report

    def mark_incomplete(self, scan_id: str, error: str, report: ScanReport | None = None) -> None:
        """An interrupted or failed scan: keep what it found, never show it as complete."""
        if report is not None:
            report = report.model_copy(update={"scan_id": scan_id, "complete": False})
        self._write_report(scan_id, report, INCOMPLETE, error)

    def _write_report(
        self,
        scan_id: str,
        report: ScanReport | None,
        status: str,
        error: str | None,
        discovery: dict[str, Any] | None = None,
    ) -> None:
        with self._session(write=True) as s:
            row = s.get(ScanRow, scan_id)
            if row is None:
                raise StoreError(f"scan {scan_id} is not in the history database")
            if discovery is not None:
                row.options = json.dumps(
                    {**json.loads(row.options or "{}"), "discovery": discovery}
                )
            row.status = status
            row.finished_at = _now()
            row.error = _clean(error, 2000) if error else None
            if report is None:
                return
            complete = status == COMPLETE
            row.target = _clean(report.target)
            row.score = report.score if complete else None
            row.grade = report.grade if complete else None
            row.findings_count = len(report.findings)
            row.requests_sent = report.requests_sent
            row.report = report.model_dump_json()
            s.add_all(
                FindingRow(
                    scan_id=scan_id,
                    finding_id=f.id[:64],
                    check_id=f.check_id[:128],
                    severity=f.severity.value,
                    category=f.category.value,
                    url=_clean(f.url),
                    title=_clean(f.title),
                )
                for f in {f.id: f for f in report.findings}.values()
            )

    def save(
        self,
        report: ScanReport,
        options: dict[str, Any] | None = None,
        *,
        kind: str = SCAN,
        baseline_id: str | None = None,
    ) -> ScanReport:
        """Store a finished report in one go (begin + finish)."""
        scan_id = self.begin(report.target, options, kind=kind, baseline_id=baseline_id)
        return self.finish(scan_id, report)

    # -- reading ------------------------------------------------------------
    def get(self, scan_id: str) -> ScanRecord:
        """The scan with this id or unique id prefix (at least 4 characters)."""
        return ScanRecord.of(self._row(scan_id))

    def _row(self, scan_id: str) -> ScanRow:
        wanted = scan_id.strip().lower()
        if not _ID.match(wanted):
            raise UsageError(f"bad scan id {scan_id!r}: expected 4 to 32 hex digits")
        with self._session() as s:
            rows = s.scalars(
                select(ScanRow).where(ScanRow.id.startswith(wanted, autoescape=True)).limit(2)
            ).all()
        if not rows:
            raise UsageError(f"no scan {wanted} in {self.shown_url}")
        if len(rows) > 1:
            raise UsageError(f"scan id {wanted!r} is ambiguous: give more digits")
        return rows[0]

    def report(self, scan_id: str) -> ScanReport:
        """The stored report of a scan (with its ``scan_id``)."""
        row = self._row(scan_id)
        if row.report is None:
            state = effective_status(row)
            why = f": {row.error}" if row.error else ""
            raise UsageError(f"scan {row.id} has no report ({state}{why})")
        try:
            return ScanReport.model_validate_json(row.report)
        except ValidationError:
            raise StoreError(f"scan {row.id}: the stored report is not readable") from None

    def history(self, target: str | None = None, limit: int = 100) -> list[ScanRecord]:
        """Scans, oldest first (the newest ``limit``), of one target or all."""
        query = select(ScanRow).order_by(ScanRow.created_at.desc(), ScanRow.id.desc())
        if target:
            query = query.where(ScanRow.target_key == target_key(target))
        with self._session() as s:
            rows = s.scalars(query.limit(limit)).all()
        return [ScanRecord.of(r) for r in reversed(rows)]

    def latest(self, target: str | None = None, *, exclude: str | None = None) -> ScanRecord | None:
        """The newest complete scan, of one target or of any."""
        query = (
            select(ScanRow)
            .where(ScanRow.status == COMPLETE)
            .order_by(ScanRow.created_at.desc(), ScanRow.id.desc())
        )
        if target:
            query = query.where(ScanRow.target_key == target_key(target))
        if exclude:
            query = query.where(ScanRow.id != exclude)
        with self._session() as s:
            row = s.scalars(query.limit(1)).first()
        return ScanRecord.of(row) if row is not None else None


def open_store(db: str | None = None) -> Store:
    """Open the database named by ``db``, ``APIGRADE_DB`` or the default, migrated to head."""
    url, _explicit = resolve_db_url(db)
    engine = create_db_engine(url)
    try:
        migrate.upgrade(engine)
    except ApigradeError:
        engine.dispose()
        raise
    except (SQLAlchemyError, OSError) as exc:
        engine.dispose()
        raise StoreError(f"cannot open the history database {shown(url)}: {reason(exc)}") from None
    return Store(engine, url)
