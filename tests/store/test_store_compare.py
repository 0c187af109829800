"""Comparisons by stable id and how they render (text, JSON, Markdown, history)."""

from __future__ import annotations

import json

from apigrade.model import Severity
from apigrade.store import compare
from apigrade.store.render import (
    comparison_markdown,
    comparison_text,
    history_text,
    md_escape,
    render_comparison,
    sparkline,
)
from apigrade.store.repository import ScanRecord

from .test_store_repository import TARGET, finding, report

DEBUGGER = finding("flask.werkzeug-debugger")
KEY = finding("auth.weak-signing-key", parameter="session")
CSP = finding("headers.missing-csp", severity=Severity.LOW, title="CSP missing")


def test_fixed_new_and_still_open_by_stable_id() -> None:
    before = report([DEBUGGER, KEY, CSP], score=20).model_copy(update={"scan_id": "aaaa1111"})
    new_csp = CSP.model_copy(update={"evidence": "fresh evidence"})
    other = finding("banner.version-disclosure", severity=Severity.LOW, title="Banner")
    after = report([new_csp, other], score=94).model_copy(update={"scan_id": "bbbb2222"})
    cmp = compare(before, after)
    data = json.loads(render_comparison(cmp, "json"))
    assert list(data) == [
        "baseline",
        "current",
        "fixed",
        "new",
        "still_open",
        "score_delta",
        "requests_sent",
    ]
    assert data["baseline"] == {"scan_id": "aaaa1111", "score": 20, "grade": "F"}
    assert data["current"] == {"scan_id": "bbbb2222", "score": 94, "grade": "A"}
    assert [f["check_id"] for f in data["fixed"]] == [
        "auth.weak-signing-key",
        "flask.werkzeug-debugger",
    ]
    assert [f["check_id"] for f in data["new"]] == ["banner.version-disclosure"]
    assert [f["evidence"] for f in data["still_open"]] == ["fresh evidence"]  # the current one
    assert data["score_delta"] == 74 and data["requests_sent"] == 10


def test_text_is_inert_and_markdown_escaped() -> None:
    evil = finding("x.evil", title="\x1b[2J<img src=x onerror=alert(1)> | *bold* [link](http://e)",
                   url=TARGET + "a\nb")  # fmt: skip
    cmp = compare(report([evil]), report([]))
    text = comparison_text(cmp)
    assert "\x1b" not in text and "a\nb" not in text
    md = comparison_markdown(cmp)
    row = next(line for line in md.splitlines() if "x.evil" in line.replace("\\", ""))
    assert "<img" not in md and "&lt;img" in row
    assert row.count(" | ") == 4  # the title's pipe does not add a column
    assert "\\*bold\\*" in row and "\\[link\\]\\(http" in row
    assert md_escape("a|b<c>&`d`") == "a\\|b&lt;c&gt;&amp;\\`d\\`"


def test_sparkline_and_history_text() -> None:
    assert sparkline([0, 50, 100]) == "▁▄█"
    assert sparkline([0, 100], ascii_only=True) == "_#"
    from datetime import datetime

    def rec(
        sid: str, score: int | None, status: str = "complete", target: str = TARGET
    ) -> ScanRecord:
        return ScanRecord(
            scan_id=sid, target=target, kind="scan", status=status,
            created_at=datetime(2026, 11, 29, 10, int(sid[-1])), finished_at=None,
            score=score, grade=None if score is None else ("A" if score >= 90 else "F"),
            findings=0, requests_sent=5, baseline_id=None,
            error="interrupted" if status != "complete" else None, has_report=True,
        )  # fmt: skip

    out = history_text([rec("aaaa0001", 10), rec("aaaa0002", None, "incomplete"),
                        rec("aaaa0003", 95), rec("bbbb0004", 80, target="http://x\x1b/")])  # fmt: skip
    assert "score trend ▁█  10 -> 95 (grade F -> A)" in out  # incomplete scans leave no point
    assert "incomplete" in out and "interrupted" in out
    assert "\x1b" not in out
