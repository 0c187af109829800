"""The history repository: insert a scan before it runs, finish it, read it back."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from apigrade import __version__, rx
from apigrade.errors import ApigradeError, UsageError
from apigrade.model import ScanReport
from apigrade.redact import redact_text
from apigrade.store import migrate
from apigrade.store.database import StoreError, create_db_engine, reason
from apigrade.store.location import resolve_db_url, shown
from apigrade.store.models import COMPLETE, INCOMPLETE, RUNNING, SCAN, FindingRow, ScanRow
from apigrade.target import Target

#: A ``running`` row older than this is shown as incomplete even when its owner is unknown.
STALE_AFTER = timedelta(hours=24)
_ID = rx.compile(r"^[0-9a-f]{4,32}$")
#: Options key of a row claimed by id (fleet jobs): ``{"attempts": N, "worker": name}``.
CLAIM_KEY = "fleet"


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


def _options(row: ScanRow) -> dict[str, Any]:
    try:
        data = json.loads(row.options or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _claim_meta(options: dict[str, Any]) -> dict[str, Any]:
    meta = options.get(CLAIM_KEY)
    return meta if isinstance(meta, dict) else {}


def _attempts(meta: dict[str, Any]) -> int:
    try:
        return max(1, int(meta.get("attempts", 1)))
    except (TypeError, ValueError):
        return 1


def effective_status(row: ScanRow, now: datetime | None = None) -> str:
    """``running`` only while the scanning process can still finish it."""
    if row.status != RUNNING:
        return row.status
    if row.pid and row.host == socket.gethostname() and not _alive(row.pid):
        return INCOMPLETE
    if row.created_at is None or (now or _now()) - row.created_at > STALE_AFTER:
        return INCOMPLETE
    return RUNNING


#: What a stored start date that cannot be read (a damaged row) is shown as.
UNREADABLE_DATE = datetime(1970, 1, 1)


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
    #: How many times the row was claimed by ``begin(scan_id=...)`` (1 for ordinary scans).
    attempts: int = 1
    #: The worker named by the latest claim, if any.
    worker: str | None = None
    #: Origin + path of the target, the key ``scans(target=...)`` filters on.
    target_key: str = ""
    #: False when the stored start date was unreadable (``created_at`` is then UNREADABLE_DATE).
    date_readable: bool = True

    @classmethod
    def of(cls, row: ScanRow) -> ScanRecord:
        options = _options(row)
        meta = _claim_meta(options)
        worker = meta.get("worker")
        return cls(
            scan_id=row.id,
            target=row.target,
            kind=row.kind or SCAN,
            status=effective_status(row),
            created_at=row.created_at or UNREADABLE_DATE,
            date_readable=row.created_at is not None,
            finished_at=row.finished_at,
            score=row.score,
            grade=row.grade,
            findings=row.findings_count,
            requests_sent=row.requests_sent,
            baseline_id=row.baseline_id,
            error=row.error,
            has_report=row.report is not None,
            options=options,
            attempts=_attempts(meta),
            worker=worker if isinstance(worker, str) else None,
            target_key=row.target_key,
        )

    def to_json(self) -> dict[str, Any]:
        """The record for ``history --format json``."""
        return {
            "scan_id": self.scan_id,
            "target": self.target,
            "kind": self.kind,
            "status": self.status,
            "started_at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ") if self.date_readable else None,
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
        scan_id: str | None = None,
        worker: str | None = None,
        kind: str = SCAN,
        baseline_id: str | None = None,
    ) -> str:
        """Insert a ``running`` row before the scan starts; returns its scan id.

        Without ``scan_id`` a new id is chosen. With one (a fleet job id: 4 to 32 lowercase
        hex digits) the call is idempotent: the first claims a new row, a repeat claims the
        same row again (one more attempt, this process as owner, ``worker`` recorded) and
        sets it ``running`` - unless it is already complete: a finished report stays
        visible until the new run's ``finish`` replaces it. ``options`` are those of the
        first claim.
        """
        if scan_id is None:
            new_id = uuid.uuid4().hex[:12]
            with self._session(write=True) as s:
                s.add(self._new_row(new_id, target, options or {}, kind, baseline_id))
            return new_id
        if not _ID.match(scan_id):
            raise UsageError(f"bad scan id {scan_id!r}: expected 4 to 32 lowercase hex digits")
        meta = {"attempts": 1, "worker": worker}
        for last_try in (False, True):  # a concurrent first claim makes the insert collide
            try:
                with Session(self.engine, expire_on_commit=False) as s, s.begin():
                    row = s.get(ScanRow, scan_id, with_for_update=True)
                    if row is None:
                        opts = {**(options or {}), CLAIM_KEY: meta}
                        s.add(self._new_row(scan_id, target, opts, kind, baseline_id))
                    else:
                        self._reclaim(row, worker)
                return scan_id
            except IntegrityError:
                if last_try:
                    raise StoreError(f"cannot claim scan {scan_id}: it keeps changing") from None
            except SQLAlchemyError as exc:
                raise StoreError(f"cannot write to the history database: {reason(exc)}") from None
        raise AssertionError("unreachable")

    @staticmethod
    def _new_row(
        scan_id: str, target: str, options: dict[str, Any], kind: str, baseline_id: str | None
    ) -> ScanRow:
        return ScanRow(
            id=scan_id,
            target=_clean(target),
            target_key=target_key(target),
            status=RUNNING,
            created_at=_now(),
            findings_count=0,
            requests_sent=0,
            tool_version=__version__[:32],
            options=json.dumps(options),
            kind=kind,
            baseline_id=baseline_id,
            pid=os.getpid(),
            host=socket.gethostname()[:255],
        )

    @staticmethod
    def _reclaim(row: ScanRow, worker: str | None) -> None:
        opts = _options(row)
        opts[CLAIM_KEY] = {"attempts": _attempts(_claim_meta(opts)) + 1, "worker": worker}
        row.options = json.dumps(opts)
        if row.status != COMPLETE:
            row.status = RUNNING
            row.error = None
            row.finished_at = None
        row.pid = os.getpid()
        row.host = socket.gethostname()[:255]

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
        """An interrupted or failed scan: keep what it found, never show it as complete.

        A row that is already complete is left as it is (a failed re-run of a finished
        fleet job does not hide the finished report).
        """
        if report is not None:
            report = report.model_copy(update={"scan_id": scan_id, "complete": False})
        self._write_report(scan_id, report, INCOMPLETE, error, keep_complete=True)

    def _write_report(
        self,
        scan_id: str,
        report: ScanReport | None,
        status: str,
        error: str | None,
        discovery: dict[str, Any] | None = None,
        *,
        keep_complete: bool = False,
    ) -> None:
        """Write the outcome in one transaction; findings rows are replaced, never added to."""
        with self._session(write=True) as s:
            row = s.get(ScanRow, scan_id, with_for_update=True)
            if row is None:
                raise StoreError(f"scan {scan_id} is not in the history database")
            if keep_complete and row.status == COMPLETE:
                return
            if discovery is not None:
                row.options = json.dumps(
                    {**json.loads(row.options or "{}"), "discovery": discovery}
                )
            row.status = status
            row.finished_at = _now()
            row.error = _clean(redact_text(error), 2000) if error else None  # no secret, ever
            if report is None:
                return
            complete = status == COMPLETE
            row.target = _clean(report.target)
            row.score = report.score if complete else None
            row.grade = report.grade if complete else None
            row.findings_count = len(report.findings)
            row.requests_sent = report.requests_sent
            row.report = report.model_dump_json()
            s.execute(delete(FindingRow).where(FindingRow.scan_id == scan_id))
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

    def scans(
        self,
        target: str | None = None,
        status: str | None = None,
        limit: int = 100,
        *,
        kind: str | None = None,
    ) -> list[ScanRecord]:
        """Scans newest first, of one target or all, optionally of one (effective) status
        (``running``, ``complete``, ``incomplete``) and one kind."""
        if status not in (None, RUNNING, COMPLETE, INCOMPLETE):
            raise UsageError(f"unknown scan status {status!r}")
        query = select(ScanRow).order_by(ScanRow.created_at.desc(), ScanRow.id.desc())
        if target:
            query = query.where(ScanRow.target_key == target_key(target))
        if kind:
            query = query.where(ScanRow.kind == kind)
        if status == COMPLETE:
            query = query.where(ScanRow.status == COMPLETE)
        elif status == RUNNING:
            query = query.where(ScanRow.status == RUNNING)
        elif status == INCOMPLETE:  # stored as such, or running with a dead owner
            query = query.where(ScanRow.status.in_((RUNNING, INCOMPLETE)))
        if status in (None, COMPLETE):
            with self._session() as s:
                return [ScanRecord.of(r) for r in s.scalars(query.limit(limit)).all()]
        found: list[ScanRecord] = []  # the effective status needs each row: read in pages
        page = max(limit, 200)
        with self._session() as s:
            for offset in range(0, 1_000_000, page):
                rows = s.scalars(query.offset(offset).limit(page)).all()
                found += [r for r in map(ScanRecord.of, rows) if r.status == status]
                if len(found) >= limit or len(rows) < page:
                    break
        return found[:limit]

    def latest_per_target(self, *, kind: str | None = None, limit: int = 500) -> list[ScanRecord]:
        """Each target's newest scan (any status), ordered by target key."""
        newest = select(ScanRow.target_key, func.max(ScanRow.created_at).label("at"))
        if kind:
            newest = newest.where(ScanRow.kind == kind)
        sub = newest.group_by(ScanRow.target_key).subquery()
        query = select(ScanRow).join(
            sub, (ScanRow.target_key == sub.c.target_key) & (ScanRow.created_at == sub.c.at)
        )
        if kind:
            query = query.where(ScanRow.kind == kind)
        query = query.order_by(ScanRow.target_key, ScanRow.id.desc())
        unique: dict[str, ScanRecord] = {}
        with self._session() as s:
            for row in s.scalars(query).all():  # equal timestamps: the highest id wins
                unique.setdefault(row.target_key, ScanRecord.of(row))
        return list(unique.values())[:limit]

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


#: how long opening a database another process is setting up may be retried
LOCKED_RETRY_S = 30.0


def open_store(db: str | None = None) -> Store:
    """Open the database named by ``db``, ``APIGRADE_DB`` or the default, migrated to head."""
    url, _explicit = resolve_db_url(db)
    deadline = time.monotonic() + LOCKED_RETRY_S
    while True:
        engine = create_db_engine(url)
        try:
            migrate.upgrade(engine)
        except ApigradeError:
            engine.dispose()
            raise
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            why = reason(exc)
            # two processes opening a new SQLite file at once (e.g. workers starting): the
            # switch to WAL can fail at once instead of waiting; try again for a while
            if "database is locked" in why and time.monotonic() < deadline:
                time.sleep(0.2)
                continue
            raise StoreError(f"cannot open the history database {shown(url)}: {why}") from None
        return Store(engine, url)
