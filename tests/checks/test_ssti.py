"""Server-side template injection: arithmetic probes with a three-step confirmation."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apigrade.checks.input_validation import ssti
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_files as apps  # noqa: E402

from conftest import by_check, scan_app  # noqa: E402

CHECK = "ssti.template-injection"
Both = Callable[..., tuple[ScanReport, ScanReport]]


def page(url: str) -> str:
    """The last path segment of a URL."""
    return url.split("?")[0].rsplit("/", 1)[-1]


def test_probe_is_not_its_own_proof() -> None:
    for _ in range(50):
        a, b = ssti.numbers()
        assert 10_000 <= a < 1_000_000 and 10_000 <= b < 1_000_000
        assert str(a * b) not in ssti.expr(a, b) and len(str(a * b)) >= 9


def test_jinja2_injection_is_critical(scan_both: Both) -> None:
    for report in scan_both(apps.ssti_app(), only=[CHECK]):
        findings = {(f.parameter, page(f.url)): f for f in by_check(report, CHECK)}
        assert set(findings) == {("name", "hello"), (None, "ada")}
        for f in findings.values():
            assert f.severity == "critical" and f.confidence == "certain"
            assert f.cwe == 1336 and f.category == "input-validation"
            assert "not evaluated" in f.evidence and "str" in f.evidence
        assert "path segment" in findings[(None, "ada")].evidence
        assert findings[(None, "ada")].url.endswith("/greet/ada")


def test_sandboxed_engine_is_high(scan_both: Both) -> None:
    for report in scan_both(apps.sandboxed_ssti_app(), only=[CHECK]):
        [f] = by_check(report, CHECK)
        assert f.severity == "high" and f.parameter == "name"
        assert "no Python object access" in f.evidence


def test_post_form_only_with_active(scan_both: Both) -> None:
    app = apps.ssti_form_app()
    for report in scan_both(app, only=[CHECK], active=True):
        [f] = by_check(report, CHECK)
        assert f.method == "POST" and f.parameter == "message" and f.severity == "critical"
    assert by_check(scan_app(app, only=[CHECK]), CHECK) == []  # default mode: GET only


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(apps.safe_ssti_app, id="context-variables-and-calculator"),
        pytest.param(apps.spa_app, id="spa-catch-all"),
        pytest.param(apps.echo_file_app, id="echo"),
    ],
)
def test_no_false_alarms(scan_both: Both, make: Callable[[], Any]) -> None:
    for report in scan_both(make(), only=[CHECK]):
        assert by_check(report, CHECK) == []


def test_request_budget() -> None:
    app = apps.ssti_app()
    discovery = scan_app(app, only=[]).requests_sent
    assert scan_app(app, only=[CHECK]).requests_sent - discovery <= 30
