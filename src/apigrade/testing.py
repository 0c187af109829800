"""pytest plugin: scan your own Flask/WSGI or ASGI app in-process from your test suite.

Loaded automatically (``pytest11`` entry point) once apigrade is installed::

    from apigrade.testing import assert_grade, assert_no_findings

    def test_security(app):
        assert_grade(app, at_least="B")
        assert_no_findings(app, at_or_above="high")

    def test_with_fixture(apigrade_scan, app):
        report = apigrade_scan(app, only=["headers.missing-csp"])
        assert not report.findings

No server and no network: requests go straight to the app object, every route of the app
is tested (not only what ``/`` links to), its live configuration is audited, and findings
name their source lines. Both assertions take an app or an already computed
:class:`~apigrade.model.ScanReport` (scan once, assert twice). ``apigrade_report`` is the
scan of your own ``app`` fixture.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from apigrade.model import Finding, ScanReport, Severity
from apigrade.report.escape import one_line

GRADES = "ABCDF"  # best first
MAX_LISTED = 25

__all__ = ["assert_grade", "assert_no_findings", "apigrade_report", "apigrade_scan", "scan_app"]


def scan_app(app: Any, **options: Any) -> ScanReport:
    """Scan an app object in-process; ``options`` are those of ``apigrade.scan``."""
    from apigrade import scan

    return scan(app, **options)


def _report(target: Any, options: dict[str, Any]) -> ScanReport:
    if isinstance(target, ScanReport):
        if options:
            raise TypeError("scan options need an app, not a ScanReport")
        return target
    if isinstance(target, str):
        raise TypeError("apigrade.testing scans app objects in-process; pass the app, not a URL")
    return scan_app(target, **options)


def _severity(value: str | Severity) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise ValueError(
            f"unknown severity {value!r}: one of {', '.join(s.value for s in Severity)}"
        ) from None


def _listing(findings: list[Finding]) -> str:
    """One block per finding, worst first: severity, title, where, and the fix's first line."""
    lines = []
    ordered = sorted(findings, key=lambda f: -f.severity.rank)
    for f in ordered[:MAX_LISTED]:
        lines.append(f"  {f.severity.value.upper():8} {one_line(f.title, 160)}  [{f.check_id}]")
        lines.append(f"           {one_line(f.method, 10)} {one_line(f.url, 200)}")
        if f.location is not None:  # in-process: the handler's or setting's source line
            lines.append(f"           at {one_line(f.location.path, 200)}:{f.location.line}")
        fix = f.remediation.strip().splitlines()
        if fix:
            lines.append(f"           fix: {one_line(fix[0], 200)}")
    if len(ordered) > MAX_LISTED:
        lines.append(f"  … and {len(ordered) - MAX_LISTED} more")
    return "\n".join(lines)


def assert_grade(app: Any, at_least: str = "B", **options: Any) -> ScanReport:
    """Fail unless the app grades ``at_least`` (A best, F worst); returns the report."""
    wanted = at_least.upper()
    if len(wanted) != 1 or wanted not in GRADES:
        raise ValueError(f"at_least must be one of {', '.join(GRADES)}, not {at_least!r}")
    report = _report(app, options)
    if GRADES.index(report.grade) > GRADES.index(wanted):
        deducted = [f for f in report.findings if f.severity is not Severity.INFO]
        raise AssertionError(
            f"apigrade: grade {report.grade} (score {report.score}/100) is below {wanted}; "
            f"{len(deducted)} findings to fix:\n{_listing(deducted)}"
        )
    return report


def assert_no_findings(
    app: Any, at_or_above: str | Severity = "high", **options: Any
) -> ScanReport:
    """Fail when the app has a finding of ``at_or_above`` severity or worse; returns the report."""
    floor = _severity(at_or_above)
    report = _report(app, options)
    bad = [f for f in report.findings if f.severity.rank >= floor.rank]
    if bad:
        raise AssertionError(
            f"apigrade: {len(bad)} findings at or above {floor.value} "
            f"(grade {report.grade}, score {report.score}/100):\n{_listing(bad)}"
        )
    return report


@pytest.fixture
def apigrade_scan() -> Callable[..., ScanReport]:
    """``report = apigrade_scan(app, **options)``: an in-process scan of an app object."""
    return scan_app


@pytest.fixture
def apigrade_report(request: pytest.FixtureRequest) -> ScanReport:
    """The in-process scan of your ``app`` fixture (the pytest-flask convention): every
    route of the app, its live configuration, findings with source lines."""
    return scan_app(request.getfixturevalue("app"))
