"""OS command injection: shell arithmetic echoed back, and bounded time-based probes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apigrade.checks.common.slots import Slot
from apigrade.checks.input_validation import command_injection as cmdi
from apigrade.discovery.model import Endpoint, Param
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import apps_cmdi as apps  # noqa: E402

from apps import catchall  # noqa: E402
from conftest import by_check, scan_app  # noqa: E402

CHECKS = (cmdi.CHECK, cmdi.TIME_KIND)
Both = Callable[..., tuple[ScanReport, ScanReport]]


def _slot(name: str, example: str | None = None) -> Slot:
    ep = Endpoint(url="http://t/x", params=(Param(name, "query", "string", example=example),))
    return Slot(endpoint=ep, name=name, location="query", example=example)


def test_marker_is_not_in_its_own_payload() -> None:
    for _ in range(50):
        m = cmdi.Marker()
        assert m.expected not in m.command and str(m.a * m.b) not in m.command


def test_time_budget_per_parameter_and_scan() -> None:
    scan = cmdi.TimeBudget(20)
    first = scan.within(12)
    first.spend(11)
    assert not first.allows(2) and scan.allows(2)  # the parameter's budget is spent
    second = scan.within(12)
    second.spend(8)
    assert scan.left == 1 and not second.allows(2)  # the scan's budget is spent


@pytest.mark.parametrize(
    ("name", "example", "expected"),
    [
        ("host", None, True),
        ("target_ip", None, True),
        ("logFile", None, True),
        ("q", "10.0.0.1", True),
        ("q", "example.com", True),
        ("q", "/var/log/app.log", True),
        ("q", "hello world", False),
        ("limit", "5", False),
        ("name", None, False),
    ],
)
def test_only_command_like_parameters(name: str, example: str | None, expected: bool) -> None:
    assert cmdi.looks_commandish(_slot(name, example)) is expected


def test_shell_sinks_found_with_active(scan_both: Both) -> None:
    for report in scan_both(apps.flawed_app(), only=[cmdi.CHECK], active=True):
        found = {(f.check_id, f.parameter, f.method) for f in report.findings}
        assert (cmdi.CHECK, "host", "GET") in found
        assert (cmdi.CHECK, "path", "GET") in found  # inside single quotes: "';" broke out
        assert (cmdi.CHECK, None, "GET") in found  # the path segment of /net/trace/127.0.0.1
        assert (cmdi.TIME_KIND, "domain", "POST") in found  # output discarded: timing
        assert not any(f.parameter == "limit" for f in report.findings)
        for f in by_check(report, cmdi.CHECK):
            assert f.severity == "critical" and f.confidence == "certain" and f.cwe == 78
            assert f.category == "input-validation" and "computed by a shell" in f.evidence
            assert "subprocess.run([" in f.remediation and "shell=False" in f.remediation
        for blind in by_check(report, cmdi.TIME_KIND):  # the lookup also answers GET
            assert blind.parameter == "domain" and blind.cwe == 78
            assert "'sleep 0'" in blind.evidence


def test_nothing_without_active() -> None:
    report = scan_app(apps.flawed_app(), only=[cmdi.CHECK])
    assert [f for f in report.findings if f.check_id in CHECKS] == []


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(apps.fixed_app, id="argv-and-allow-list"),
        pytest.param(apps.sleepy_word_app, id="slow-on-the-word-sleep"),
        pytest.param(catchall.create_app, id="catch-all"),
    ],
)
def test_no_false_alarms(scan_both: Both, make: Callable[[], Any]) -> None:
    for report in scan_both(make(), only=[cmdi.CHECK], active=True):
        assert [f for f in report.findings if f.check_id in CHECKS] == []


def test_request_and_time_bounds() -> None:
    app = apps.flawed_app()
    discovery = scan_app(app, only=[], active=True).requests_sent
    report = scan_app(app, only=[cmdi.CHECK], active=True)
    bound = cmdi.MAX_SLOTS * (len(cmdi.SEPARATORS) + 1)
    bound += cmdi.MAX_TIMED * (2 + len(cmdi.SEPARATORS) + 2)
    assert report.requests_sent - discovery <= bound
    assert report.duration_s < 30
