"""The repository on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys

import pytest

from apigrade.errors import UsageError
from apigrade.model import (
    Category,
    Confidence,
    Finding,
    Fingerprint,
    ScanReport,
    Severity,
    ToolInfo,
    finding_id,
)
from apigrade.store import open_store
from apigrade.store.models import ScanRow
from apigrade.store.repository import target_key

TARGET = "http://127.0.0.1:5000/"


def finding(check_id: str = "flask.werkzeug-debugger", url: str = TARGET, **kw: object) -> Finding:
    data: dict[str, object] = dict(
        id=finding_id(check_id, url, None), check_id=check_id, title="Debugger exposed",
        severity=Severity.HIGH, confidence=Confidence.CERTAIN,
        category=Category.MISCONFIGURATION, owasp="API8:2023", cwe=489, url=url,
        evidence="console", remediation="turn it off",
    )  # fmt: skip
    data.update(kw)
    return Finding.model_validate(data)


def report(findings: list[Finding], score: int = 60, target: str = TARGET) -> ScanReport:
    from apigrade.scoring import grade_for

    return ScanReport(
        tool=ToolInfo(version="test"), target=target, started_at="2026-11-29T10:00:00Z",
        duration_s=1.0, requests_sent=10, score=score, grade=grade_for(score),
        categories={}, fingerprint=Fingerprint(), findings=findings,
    )  # fmt: skip


def test_scan_lifecycle_running_then_complete(db_url: str) -> None:
    with open_store(db_url) as store:
        sid = store.begin(TARGET, {"header_names": ["Authorization"]})
        assert store.get(sid).status == "running"
        assert store.get(sid).score is None
        stored = store.finish(sid, report([finding()], score=55))
        assert stored.scan_id == sid
        rec = store.get(sid[:6])  # a unique prefix is enough
        assert (rec.status, rec.score, rec.grade, rec.findings) == ("complete", 55, "F", 1)
        again = store.report(sid)
        assert again.scan_id == sid and again.findings[0].check_id == "flask.werkzeug-debugger"
        assert rec.options["header_names"] == ["Authorization"]


def test_incomplete_scan_keeps_findings_but_no_grade(db_url: str) -> None:
    with open_store(db_url) as store:
        sid = store.begin(TARGET)
        store.mark_incomplete(sid, "interrupted", report([finding()], score=90))
        rec = store.get(sid)
        assert (rec.status, rec.score, rec.grade, rec.error) == (
            "incomplete",
            None,
            None,
            "interrupted",
        )
        assert store.report(sid).complete is False
        assert store.latest(TARGET) is None  # never a baseline or a verify default


def test_report_marked_incomplete_by_scanner_is_stored_incomplete(db_url: str) -> None:
    with open_store(db_url) as store:
        sid = store.begin(TARGET)
        store.finish(sid, report([], score=100).model_copy(update={"complete": False}))
        assert store.get(sid).status == "incomplete"


def test_history_latest_and_target_filter(db_url: str) -> None:
    with open_store(db_url) as store:
        a = store.save(report([finding()], score=40))
        b = store.save(report([], score=95))
        other = store.save(report([], score=70, target="http://127.0.0.1:6000/api"))
        assert [r.scan_id for r in store.history()] == [a.scan_id, b.scan_id, other.scan_id]
        # the same target however it is spelt
        assert [r.scan_id for r in store.history("HTTP://127.0.0.1:5000")] == [a.scan_id, b.scan_id]
        assert store.latest("http://127.0.0.1:5000/").scan_id == b.scan_id  # type: ignore[union-attr]
        assert store.latest(exclude=other.scan_id).scan_id == b.scan_id  # type: ignore[union-attr]
        assert [r.scan_id for r in store.history(limit=1)] == [other.scan_id]


def test_bad_and_unknown_scan_ids_are_usage_errors(db_url: str) -> None:
    with open_store(db_url) as store:
        store.save(report([]))
        for bad in ("xyz", "12", "%%%%", "0000'; DROP TABLE scans; --"):
            with pytest.raises(UsageError):
                store.get(bad)
        with pytest.raises(UsageError, match="no scan"):
            store.get("ffffffffffff")


def test_ambiguous_prefix(db_url: str) -> None:
    with open_store(db_url) as store:
        for suffix in ("1111", "2222"):
            sid = store.begin(TARGET)
            with store._session(write=True) as s:  # give two rows a common prefix
                row = s.get(ScanRow, sid)
                assert row is not None
                s.delete(row)
                s.flush()
                row2 = ScanRow(**{c.name: getattr(row, c.name) for c in ScanRow.__table__.columns})
                row2.id = "abcd" + suffix
                s.add(row2)
        with pytest.raises(UsageError, match="ambiguous"):
            store.get("abcd")
        assert store.get("abcd2").scan_id == "abcd2222"


def test_hostile_text_round_trips(db_url: str) -> None:
    """NUL, escapes and quotes from a target never break a row (PostgreSQL rejects NUL)."""
    nasty = "t\x00itle \x1b[31m'\"; DROP TABLE scans; -- ✓"
    f = finding(title=nasty, evidence=nasty, url=TARGET + "a%00b?x='1")
    with open_store(db_url) as store:
        sid = store.save(report([f])).scan_id or ""
        back = store.report(sid).findings[0]
        assert back.title == nasty and back.evidence == nasty


def test_stale_running_row_reads_as_incomplete(db_url: str) -> None:
    """A scan whose process died (SIGKILL, power loss) never shows as running forever."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    with open_store(db_url) as store:
        sid = store.begin(TARGET)
        with store._session(write=True) as s:
            row = s.get(ScanRow, sid)
            assert row is not None
            row.pid = int(dead.stdout)
        assert store.get(sid).status == "incomplete"
        alive = store.begin(TARGET)  # this process: still running
        assert store.get(alive).status == "running"


def test_target_key_normalises() -> None:
    assert target_key("HTTP://LocalHost:80/api/") == "http://localhost/api"
    assert target_key("https://h:443/") == "https://h"
    assert target_key("https://user:pw@h/x?token=1") == "https://h/x"
