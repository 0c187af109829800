"""Werkzeug development server banners and versions with known CVEs."""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Callable

from apps_debug import (
    GunicornLikeHandler,
    OldWerkzeugHandler,
    QuietHandler,
    api_app,
    by_check,
    debugged,
    scan_url,
)

from apigrade.checks.misconfiguration.werkzeug_versions import _worst, applicable, parse_banner
from apigrade.model import Severity

DEV = "flask.werkzeug-dev-server"
VULN = "flask.werkzeug-vulnerable-version"
ONLY = [DEV, VULN]


def _cves(version: tuple[int, int, int], python: tuple[int, int, int] | None = None) -> set[str]:
    return {a.cve for a in applicable(version, python)}


def test_advisory_ranges_follow_the_fixed_releases() -> None:
    assert "CVE-2024-34069" in _cves((3, 0, 2)) and "CVE-2024-34069" not in _cves((3, 0, 3))
    assert "CVE-2023-46136" in _cves((3, 0, 0)) and "CVE-2023-46136" not in _cves((3, 0, 1))
    assert "CVE-2023-46136" not in _cves((2, 3, 8)) and "CVE-2023-46136" in _cves((2, 3, 7))
    assert "CVE-2023-25577" in _cves((2, 2, 2)) and "CVE-2023-25577" not in _cves((2, 2, 3))
    assert "CVE-2019-14806" in _cves((0, 15, 2)) and "CVE-2019-14806" not in _cves((0, 15, 3))
    assert "CVE-2024-49766" in _cves((3, 0, 5), (3, 10, 4))
    assert "CVE-2024-49766" not in _cves((3, 0, 5), (3, 11, 0))  # Python >= 3.11 is safe
    assert _cves((3, 1, 6)) == set()
    banner = parse_banner("Werkzeug/2.2.2 Python/3.11.7")
    assert (
        banner is not None and banner.version == (2, 2, 2) and banner.python_version == (3, 11, 7)
    )
    assert parse_banner("gunicorn") is None and parse_banner("nginx/1.25.3") is None


def test_real_dev_server_banner_is_reported(serve: Callable[..., str]) -> None:
    report = scan_url(serve(api_app(), handler=QuietHandler), only=ONLY)
    [hit] = by_check(report, DEV)
    assert hit.cwe == 497 and hit.category == "misconfiguration"
    assert hit.severity == "low"  # a loopback target: local development
    installed = importlib.metadata.version("werkzeug")
    assert f"Server: Werkzeug/{installed} Python/3." in hit.evidence
    banner = parse_banner(hit.evidence)
    assert banner is not None and banner.version is not None
    assert bool(by_check(report, VULN)) == bool(applicable(banner.version, banner.python_version))


def test_old_werkzeug_names_its_cves(serve: Callable[..., str]) -> None:
    report = scan_url(serve(api_app(), handler=OldWerkzeugHandler), only=ONLY)
    assert by_check(report, DEV)
    [hit] = by_check(report, VULN)
    for cve in ("CVE-2024-34069", "CVE-2023-25577", "CVE-2023-46136", "CVE-2024-49767"):
        assert cve in hit.evidence
    assert "CVE-2024-49766" not in hit.evidence  # the banner says Python 3.11+
    assert "only if the debugger is on" in hit.evidence
    assert hit.severity == "medium"  # no debugger found: version-only evidence


def test_debugger_cves_are_high_only_with_the_debugger() -> None:
    advs = applicable((2, 2, 2))
    assert _worst(advs, debugger=True) == Severity.HIGH
    assert _worst(advs, debugger=False) == Severity.MEDIUM
    assert _worst(applicable((3, 1, 3)), debugger=True) == Severity.LOW  # Windows-only ones


def _version_tuple(text: str) -> tuple[int, int, int]:
    """'2.3.8' -> (2, 3, 8); '3.1.0rc1' -> (3, 1, 0). No packaging dependency."""
    nums = [int(n) for n in re.findall(r"\d+", text)[:3]]
    nums += [0] * (3 - len(nums))
    return (nums[0], nums[1], nums[2])


WERKZEUG = _version_tuple(importlib.metadata.version("werkzeug"))


def test_banner_contradicted_by_the_debugger_code(serve: Callable[..., str]) -> None:
    # An old banner (2.2.2) in front of the installed debugger.
    url = serve(debugged(), handler=OldWerkzeugHandler)
    report = scan_url(url, only=[*ONLY, "flask.werkzeug-debugger"])
    [hit] = by_check(report, VULN)
    assert "CVE-2024-34069" in hit.evidence
    if WERKZEUG >= (3, 0, 3):
        # a current debugger: its debugger.js shows the 3.0.3 fix, so the banner is doubted
        # and the debugger CVE is not rated as if it applied
        assert "the banner may be wrong" in hit.evidence
        assert hit.severity == "medium"
    else:
        # a real pre-3.0.3 debugger.js agrees with the banner: the debugger CVE applies and
        # the debugger was found, so the finding is high
        assert "the banner may be wrong" not in hit.evidence
        assert "debugger detected" in hit.evidence
        assert hit.severity == "high"


def test_production_server_banner_is_not_reported(serve: Callable[..., str]) -> None:
    report = scan_url(serve(api_app(), handler=GunicornLikeHandler), only=ONLY)
    assert not by_check(report, DEV) and not by_check(report, VULN)
