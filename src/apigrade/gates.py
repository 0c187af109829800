"""The CI gates (``--fail-under``, ``--fail-on``): exit code 1 and one line saying why."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from apigrade.model import ScanReport, Severity
from apigrade.report.escape import one_line

if TYPE_CHECKING:
    from apigrade.fleet.runner import FleetResult


def failures(
    score: int | None,
    severities: Iterable[Severity],
    fail_under: int | None,
    fail_on: Severity | None,
) -> list[str]:
    """What failed, one phrase per gate: ``score 47 < --fail-under 70``,
    ``3 findings at or above --fail-on high``. Empty when every gate passes."""
    reasons = []
    if fail_under is not None and (score or 0) < fail_under:
        reasons.append(f"score {score or 0} < --fail-under {fail_under}")
    if fail_on is not None:
        hits = sum(1 for s in severities if s.rank >= fail_on.rank)
        if hits:
            plural = "finding" if hits == 1 else "findings"
            reasons.append(f"{hits} {plural} at or above --fail-on {fail_on.value}")
    return reasons


def gate_line(reasons: list[str], prefix: str = "") -> str:
    """The one line a failed gate prints."""
    return f"apigrade: gate failed: {prefix}{'; '.join(reasons)}"


def report_gate(
    report: ScanReport,
    fail_under: int | None,
    fail_on: Severity | None,
    stream: TextIO | None = None,
) -> int:
    """Exit code for one report's gates: 1 (after printing why) when a gate fails, else 0."""
    reasons = failures(report.score, (f.severity for f in report.findings), fail_under, fail_on)
    if not reasons:
        return 0
    print(gate_line(reasons), file=stream or sys.stderr)
    return 1


def fleet_gate(
    results: Iterable[FleetResult],
    fail_under: int | None,
    fail_on: Severity | None,
    stream: TextIO | None = None,
) -> None:
    """scan-many: print one line naming each scanned target whose gates failed."""
    parts = []
    for r in results:
        if r.status != "completed":
            continue
        worst = [Severity(r.worst)] if r.worst else []
        reasons = failures(r.score, worst, fail_under, None)
        if fail_on is not None and worst and worst[0].rank >= fail_on.rank:
            reasons.append(f"a {worst[0].value} finding, at or above --fail-on {fail_on.value}")
        if reasons:
            parts.append(f"{one_line(r.target, 200)}: {', '.join(reasons)}")
    if parts:
        print(gate_line(parts), file=stream or sys.stderr)
