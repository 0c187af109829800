"""Recording a scan as it runs: a ``running`` row first, complete or incomplete after."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from apigrade.errors import ApigradeError, TargetError
from apigrade.model import ScanReport
from apigrade.redact import redact_text
from apigrade.report.escape import one_line
from apigrade.scan_options import ScanOptions
from apigrade.store.database import StoreError
from apigrade.store.location import resolve_db_url
from apigrade.store.models import SCAN
from apigrade.store.repository import Store, open_store
from apigrade.store.sanitize import redact_report, redactor_for, stored_options
from apigrade.target import Target


class RunningScan(Protocol):
    """What the recorder needs of a scan: a partial report after an interruption."""

    def partial_report(self) -> ScanReport: ...


class Recorder:
    """Ties one scan to its row. With ``store=None`` (``--no-store``) it records nothing."""

    def __init__(self, store: Store | None, options: ScanOptions, scan_id: str | None) -> None:
        self.store = store
        self.options = options
        self.scan_id = scan_id
        self.scan: RunningScan | None = None
        self.finished = False

    def on_start(self, scan: RunningScan) -> None:
        """Pass to ``run_scan(on_start=...)``: keeps the scan for a partial report."""
        self.scan = scan

    def finish(self, report: ScanReport) -> ScanReport:
        """Store the final report; returns it with its ``scan_id`` (unchanged if not stored)."""
        self.finished = True
        if self.store is None or self.scan_id is None:
            return report
        report = redact_report(report, self.options)
        return self.store.finish(self.scan_id, report, stored_discovery(report))

    def abort(self, exc: BaseException) -> None:
        """Mark the row incomplete, keeping what the scan found so far."""
        self.finished = True
        if self.store is None or self.scan_id is None:
            return
        partial: ScanReport | None = None
        if self.scan is not None and not isinstance(exc, TargetError):
            try:
                partial = redact_report(self.scan.partial_report(), self.options)
            except Exception:  # noqa: BLE001 - the row is marked incomplete regardless
                partial = None
        if isinstance(exc, KeyboardInterrupt):
            why = "interrupted"
        elif isinstance(exc, ApigradeError):
            why = redact_text(str(exc), redactor_for(self.options))
        else:
            why = f"failed: {type(exc).__name__}"
        self.store.mark_incomplete(self.scan_id, why, partial)


def stored_discovery(report: ScanReport) -> dict[str, Any] | None:
    """What discovery learned that ``verify`` reuses: the spec URLs it found (masked).

    None when the report does not say (discovery did not finish, or an older report).
    """
    if report.discovery is None:
        return None
    return {"specs": list(report.discovery.specs[:5])}  # endpoints: in the stored report


@contextmanager
def recording(
    target: str,
    options: ScanOptions,
    *,
    db: str | None = None,
    enabled: bool = True,
    kind: str = SCAN,
    baseline_id: str | None = None,
    store: Store | None = None,
) -> Iterator[Recorder]:
    """Record the scan run inside the block; on any exception the row is marked incomplete.

    The store is opened (and migrated) before the scan. When the default database cannot
    be opened a warning is printed and the scan goes on unrecorded; a database the user
    named (``--db``/``APIGRADE_DB``) that fails is an error before any request is sent.
    """
    if not enabled:
        yield Recorder(None, options, None)
        return
    # A bad URL is a usage error before any row exists; user:password@ never reaches a row.
    shown_target = redactor_for(options).text(Target.parse(target).url)
    own = store is None
    if store is None:
        store = open_for_scan(db)
    try:
        scan_id = None
        if store is not None:
            scan_id = store.begin(
                shown_target, stored_options(options), kind=kind, baseline_id=baseline_id
            )
        rec = Recorder(store, options, scan_id)
        try:
            yield rec
        except BaseException as exc:
            _safely(rec.abort, exc)
            raise
        if not rec.finished:
            _safely(rec.abort, RuntimeError("the scan ended without a report"))
    finally:
        if own and store is not None:
            store.close()


def open_for_scan(db: str | None, required: bool = False) -> Store | None:
    """Open the history for a scan; None (with a warning) when the default one fails.

    A database the user named, or one the scan needs (``--baseline``), must open.
    """
    _url, explicit = resolve_db_url(db)
    try:
        return open_store(db)
    except StoreError as exc:
        if explicit or required:
            raise
        print(f"apigrade: warning: scan not stored: {one_line(str(exc))}", file=sys.stderr)
        return None


def _safely(action: Callable[[BaseException], None], exc: BaseException) -> None:
    """Run a bookkeeping write while an exception is already on its way out."""
    try:
        action(exc)
    except Exception as failure:  # noqa: BLE001 - the original error matters more
        print(f"apigrade: warning: {one_line(str(failure))}", file=sys.stderr)
