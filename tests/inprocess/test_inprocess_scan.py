"""Grey-box scans of real Flask, FastAPI and Django apps: unlinked vulnerable routes and
misconfigured settings are found in-process, with source lines; the fixed apps are clean.
Over a socket, the same Flask app's unlinked routes stay unseen (what black-box can do)."""

from __future__ import annotations

from pathlib import Path

import pytest
from greyapps import ROOT, app_of, base_url, grey_flask

from apigrade import scan as scan_app
from apigrade.model import ScanReport, Severity
from helpers_scan import scan_url

FLAWED = {
    "flask": {
        "app-config": {"debug", "weak-secret-key", "session-cookie-secure", "session-cookie-samesite",
                       "session-lifetime", "no-body-limit", "cors-credentials", "url-scheme",
                       "no-security-headers", "no-rate-limiter"},
        "routes": {("props.excessive-data-exposure", "/internal/users/"),
                   ("secrets.exposed-secret", "/internal/exports/"),
                   ("ssti.template-injection", "/internal/preview")},
    },
    "fastapi": {
        "app-config": {"debug", "weak-secret-key", "cors-credentials", "session-cookie-secure",
                       "allowed-hosts", "docs-exposed"},
        "routes": {("props.excessive-data-exposure", "/admin/users/"),
                   ("secrets.exposed-secret", "/legacy/debug/env")},
    },
    "django": {
        "app-config": {"debug", "weak-secret-key", "allowed-hosts", "session-cookie-secure",
                       "session-lifetime", "hsts", "csrf-middleware", "clickjacking-middleware",
                       "middleware-order"},
        "routes": {("props.excessive-data-exposure", "/internal/users/"),
                   ("secrets.exposed-secret", "/internal/exports/")},
    },
}  # fmt: skip
#: where the flawed settings live, and a text the assigned line must contain
SETTING_LINES = {
    ("flask", "DEBUG"): ("tests/inprocess/apps/grey_flask/settings_flawed.py", "DEBUG = True"),
    ("flask", "SECRET_KEY"): ("tests/inprocess/apps/grey_flask/settings_flawed.py", "SECRET_KEY"),
    ("fastapi", "debug"): ("tests/inprocess/apps/grey_fastapi/__init__.py", "debug=True"),
    ("django", "ALLOWED_HOSTS"): ("tests/inprocess/apps/grey_django/settings_flawed.py", "ALLOWED_HOSTS"),
    ("django", "SESSION_COOKIE_AGE"): ("tests/inprocess/apps/grey_django/settings_flawed.py", "SESSION_COOKIE_AGE"),
}  # fmt: skip


def _scan(framework: str, variant: str) -> ScanReport:
    with app_of(framework, variant) as app:
        return scan_app(app, base_url=base_url(framework, variant))


def _line(rel: str, line: int) -> str:
    return (ROOT / rel).read_text(encoding="utf-8").splitlines()[line - 1]


@pytest.mark.parametrize("framework", sorted(FLAWED))
def test_flawed_app_is_fully_found_in_process(framework: str) -> None:
    report = _scan(framework, "flawed")
    want = FLAWED[framework]
    config = {f.check_id.removeprefix("app-config.") for f in report.findings
              if f.check_id.startswith("app-config.")}  # fmt: skip
    assert config == want["app-config"]
    got = {(f.check_id, f.url) for f in report.findings}
    for check_id, path in want["routes"]:
        assert any(c == check_id and path in u for c, u in got), (check_id, path, sorted(got))
    assert report.discovery is not None and report.discovery.app_routes
    assert report.discovery.discovered is not None
    assert report.discovery.app_routes >= 5
    # Each finding on an unlinked route points at its handler, a real line of the project.
    for check_id, path in want["routes"]:
        f = next(f for f in report.findings if f.check_id == check_id and path in f.url)
        assert f.location is not None, f
        assert f.location.path.startswith(f"tests/inprocess/apps/grey_{framework}/")
        text = _line(f.location.path, f.location.line)
        assert text.lstrip().startswith(("@", "def ", "async def ")), text
    # Config findings point at the assignment in force, masked values only.
    for (fw, setting), (rel, needle) in SETTING_LINES.items():
        if fw != framework:
            continue
        f = next(f for f in report.findings if f.check_id.startswith("app-config.")
                 and f.parameter == setting)  # fmt: skip
        assert f.location is not None and f.location.path == rel, f
        assert needle in _line(rel, f.location.line)
    key = next(f for f in report.findings if f.check_id == "app-config.weak-secret-key")
    assert key.severity in (Severity.CRITICAL, Severity.HIGH)
    for secret in ("changeme", "django-insecure-7n#x2v", "'secret'"):
        assert secret not in key.evidence
    assert report.grade == "F"


@pytest.mark.parametrize("framework", sorted(FLAWED))
def test_fixed_app_is_clean_in_process(framework: str) -> None:
    report = _scan(framework, "fixed")
    bad = [(f.check_id, f.url) for f in report.findings if f.severity is not Severity.INFO
           or f.check_id.startswith("app-config.")]  # fmt: skip
    assert bad == []
    assert report.grade == "A"
    assert report.discovery is not None and (report.discovery.app_routes or 0) >= 5


def test_flawed_flask_over_a_socket_misses_the_unlinked_routes(serve) -> None:  # type: ignore[no-untyped-def]
    """The contrast: black-box discovery does not reach /internal/, and there is no config."""
    app = grey_flask.create_app("flawed")
    report = scan_url(serve(app))
    assert not [f for f in report.findings if "/internal/" in f.url]
    assert not [f for f in report.findings if f.check_id.startswith("app-config.")]
    assert all(f.location is None for f in report.findings)
    assert report.discovery is not None and report.discovery.app_routes is None


def test_app_routes_off_is_a_black_box_scan_in_process() -> None:
    app = grey_flask.create_app("flawed")
    import asyncio

    from apigrade.engine.checkset import DiscoverySettings
    from apigrade.engine.scanner import build_scan
    from apigrade.scan_options import ScanOptions

    scan = build_scan(app, ScanOptions(skip=["app-config.debug"]),
                      discovery=DiscoverySettings(grey_box=False))  # fmt: skip
    report = asyncio.run(scan.run())
    assert not [f for f in report.findings if "/internal/" in f.url]
    assert not [f for f in report.findings if f.check_id.startswith("app-config.")]


def test_budget_bounds_the_route_fetches() -> None:
    report = scan_app(grey_flask.create_app("flawed"), max_requests=12)
    assert report.requests_sent <= 12


def test_paths_in_locations_are_relative_and_exist() -> None:
    report = _scan("flask", "flawed")
    located = [f for f in report.findings if f.location is not None]
    assert len(located) >= 8
    for f in located:
        assert f.location is not None
        assert not Path(f.location.path).is_absolute() and "\\" not in f.location.path
        assert (ROOT / f.location.path).is_file()
