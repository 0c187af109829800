"""Comparing two reports by stable finding id: fixed, new, still open, score delta."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from apigrade.model import Finding, ScanReport

_SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}


class ScanRef(BaseModel):
    """Which scan a side of the comparison is."""

    model_config = ConfigDict(extra="forbid")

    scan_id: str | None
    score: int
    grade: str


class Comparison(BaseModel):
    """The contract's comparison JSON (diff, verify, ``scan --baseline``)."""

    model_config = ConfigDict(extra="forbid")

    baseline: ScanRef
    current: ScanRef
    fixed: list[Finding]
    new: list[Finding]
    still_open: list[Finding]
    score_delta: int
    requests_sent: int


def ordered(findings: list[Finding]) -> list[Finding]:
    """Worst first, then by check and URL (the report's order)."""
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.check_id, f.url))


def ref(report: ScanReport) -> ScanRef:
    return ScanRef(scan_id=report.scan_id, score=report.score, grade=report.grade)


def compare(baseline: ScanReport, current: ScanReport) -> Comparison:
    """Match findings by their stable id.

    ``fixed`` lists the baseline's findings (the evidence that was), ``new`` and
    ``still_open`` the current ones (fresh evidence). ``requests_sent`` is what the
    current scan cost.
    """
    before = {f.id: f for f in baseline.findings}
    after = {f.id: f for f in current.findings}
    return Comparison(
        baseline=ref(baseline),
        current=ref(current),
        fixed=ordered([f for fid, f in before.items() if fid not in after]),
        new=ordered([f for fid, f in after.items() if fid not in before]),
        still_open=ordered([f for fid, f in after.items() if fid in before]),
        score_delta=current.score - baseline.score,
        requests_sent=current.requests_sent,
    )
