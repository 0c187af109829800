"""Rate limiting (API4): a short spaced burst to a login and to a costly GET endpoint."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api2 as apps  # noqa: E402
from apps_api2 import Recorder, by_check, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.rate_limiting import burst  # noqa: E402

AUTH, USE = "ratelimit.auth-attempts", "ratelimit.resource-use"
ONLY = [AUTH]  # the one runnable check; it reports both kinds


def test_no_limits_anywhere(serve: Callable[..., str]) -> None:
    report = scan_url(serve(apps.ratelimit_app("open")), only=ONLY, active=True)
    [auth] = by_check(report, AUTH)
    assert urlsplit(auth.url).path == "/login" and auth.method == "POST"
    assert auth.cwe == 307 and auth.severity == "medium" and "no lockout" in auth.evidence
    [use] = by_check(report, USE)
    assert urlsplit(use.url).path == "/api/search" and use.cwe == 770
    assert use.severity == "low" and use.confidence == "tentative"
    assert "20 GET requests" in use.evidence and "none 429" in use.evidence


def test_limits_are_recognised() -> None:
    assert mine(scan_app(apps.ratelimit_app("limited"), only=ONLY, active=True), [AUTH, USE]) == []
    headers = scan_app(apps.ratelimit_app("headers"), only=ONLY, active=True)
    assert by_check(headers, USE) == [] and len(by_check(headers, AUTH)) == 1
    lockout = scan_app(apps.ratelimit_app("lockout"), only=ONLY, active=True)
    assert by_check(lockout, AUTH) == [] and len(by_check(lockout, USE)) == 1


def test_burst_is_bounded_spaced_and_login_needs_active() -> None:
    rec = Recorder(apps.ratelimit_app("open"))
    report = scan_app(rec, only=ONLY)
    assert by_check(report, AUTH) == [] and len(by_check(report, USE)) == 1
    assert rec.to("POST", "/login") == []  # default mode: GET only
    searches = rec.to("GET", "/api/search")
    assert len(searches) <= burst.BURST + 1
    times = [s[4] for s in searches[-burst.BURST :]]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.015  # spaced (20 ms asked, minus scheduling jitter)
    assert rec.to("GET", "/api/health") == [rec.to("GET", "/api/health")[0]]  # never burst

    rec = Recorder(apps.ratelimit_app("open"))
    scan_app(rec, only=ONLY, active=True)
    logins = rec.to("POST", "/login")
    assert len(logins) == burst.BURST
    assert all(b"apigrade-wrong-" in body for *_, body, _ in logins)
    users = {parse_qs(body.decode())["username"][0] for *_, body, _ in logins}
    assert len(users) == 1 and users.pop().endswith("@example.invalid")  # a made-up account


def test_off_when_the_budget_is_short() -> None:
    app = apps.ratelimit_app("open")
    discovery = scan_app(app, only=[]).requests_sent
    report = scan_app(app, only=ONLY, active=True, max_requests=discovery + burst.MIN_BUDGET - 1)
    assert mine(report, [AUTH, USE]) == []
