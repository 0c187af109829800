"""Idempotent writes by scan id and the list reads, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from apigrade.errors import UsageError
from apigrade.store import open_store
from apigrade.store.models import FindingRow, ScanRow
from apigrade.store.repository import Store

from .test_store_repository import TARGET, finding, report

JOB = "0123456789abcdef0123456789abcdef"
OTHER = "http://127.0.0.1:5001/api"


def _count(store: Store, model: type[ScanRow] | type[FindingRow], scan_id: str) -> int:
    column = ScanRow.id if model is ScanRow else FindingRow.scan_id
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(column == scan_id)).scalar() or 0)


def _set_created(store: Store, scan_id: str, at: datetime) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(ScanRow).where(ScanRow.id == scan_id).values(created_at=at))


def test_begin_twice_with_the_same_id_claims_one_row(db_url: str) -> None:
    with open_store(db_url) as store:
        assert store.begin(TARGET, {"a": 1}, scan_id=JOB, worker="w1") == JOB
        first = store.get(JOB)
        assert (first.status, first.attempts, first.worker) == ("running", 1, "w1")
        store.mark_incomplete(JOB, "worker lost")
        assert store.begin(TARGET, {"a": 2}, scan_id=JOB, worker="w2") == JOB
        again = store.get(JOB)
        assert _count(store, ScanRow, JOB) == 1
        assert (again.status, again.attempts, again.worker, again.error) == (
            "running", 2, "w2", None,
        )  # fmt: skip
        assert again.options["a"] == 1  # the first claim's options
        with pytest.raises(UsageError, match="bad scan id"):
            store.begin(TARGET, scan_id="not-hex")


def test_begin_without_an_id_is_unchanged(db_url: str) -> None:
    with open_store(db_url) as store:
        a, b = store.begin(TARGET, {"a": 1}), store.begin(TARGET, {"a": 1})
        assert a != b
        rec = store.get(a)
        assert (rec.attempts, rec.worker, rec.options) == (1, None, {"a": 1})


def test_finish_twice_keeps_one_set_of_findings(db_url: str) -> None:
    two = [finding(), finding("cors.wildcard", title="CORS")]
    with open_store(db_url) as store:
        store.begin(TARGET, scan_id=JOB)
        store.finish(JOB, report(two, score=50))
        store.begin(TARGET, scan_id=JOB)  # a redelivered task runs again
        assert store.get(JOB).status == "complete"  # the finished run stays visible
        store.finish(JOB, report(two, score=50))
        assert _count(store, FindingRow, JOB) == 2
        store.finish(JOB, report([finding()], score=70))  # the new report replaces the old
        rec = store.get(JOB)
        assert (rec.status, rec.score, rec.findings, rec.attempts) == ("complete", 70, 1, 2)
        assert _count(store, FindingRow, JOB) == 1
        assert len(store.report(JOB).findings) == 1


def test_mark_incomplete_after_finish_leaves_it_complete(db_url: str) -> None:
    with open_store(db_url) as store:
        sid = store.begin(TARGET)
        store.finish(sid, report([finding()], score=55))
        store.mark_incomplete(sid, "late failure", report([], score=10))
        rec = store.get(sid)
        assert (rec.status, rec.score, rec.findings, rec.error) == ("complete", 55, 1, None)
        assert _count(store, FindingRow, sid) == 1
        assert store.latest(TARGET) == rec


def test_scans_newest_first_with_filters(db_url: str) -> None:
    t0 = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)  # running, not stale
    with open_store(db_url) as store:
        old = store.save(report([], score=90)).scan_id or ""
        failed = store.begin(OTHER)
        store.mark_incomplete(failed, "boom")
        running = store.begin(TARGET, scan_id=JOB)
        verify = store.save(report([], score=95), kind="verify", baseline_id=old).scan_id or ""
        for i, sid in enumerate([old, failed, running, verify]):
            _set_created(store, sid, t0 + timedelta(minutes=i))

        assert [r.scan_id for r in store.scans()] == [verify, running, failed, old]
        assert [r.scan_id for r in store.scans(limit=2)] == [verify, running]
        assert [r.scan_id for r in store.scans(TARGET + "/")] == [verify, running, old]
        assert [r.scan_id for r in store.scans(status="complete")] == [verify, old]
        assert [r.scan_id for r in store.scans(status="running")] == [running]
        assert [r.scan_id for r in store.scans(status="incomplete")] == [failed]
        assert [r.scan_id for r in store.scans(kind="scan")] == [running, failed, old]
        with pytest.raises(UsageError):
            store.scans(status="bogus")
        # history() keeps its old order: oldest first
        assert [r.scan_id for r in store.history()] == [old, failed, running, verify]


def test_latest_per_target(db_url: str) -> None:
    t0 = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)  # running, not stale
    with open_store(db_url) as store:
        a_old = store.save(report([], score=90)).scan_id or ""
        b_only = store.begin(OTHER)
        a_new = store.begin(TARGET)
        a_verify = store.save(report([], score=95), kind="verify", baseline_id=a_old).scan_id
        for i, sid in enumerate([a_old, b_only, a_new, a_verify or ""]):
            _set_created(store, sid, t0 + timedelta(minutes=i))

        latest = store.latest_per_target()
        assert [(r.target_key, r.scan_id) for r in latest] == [
            ("http://127.0.0.1:5000", a_verify), ("http://127.0.0.1:5001/api", b_only),
        ]  # fmt: skip
        scans_only = store.latest_per_target(kind="scan")
        assert [r.scan_id for r in scans_only] == [a_new, b_only]
        assert [r.scan_id for r in store.latest_per_target(limit=1)] == [a_verify]
