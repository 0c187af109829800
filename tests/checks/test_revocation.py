"""Session still valid after logout (CWE-613): --active only, in the last phase."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from apigrade.checks import load_checks
from apigrade.checks.registry import LAST_PHASE, REGISTRY
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_files  # noqa: E402
import apps_sessions as apps  # noqa: E402

from conftest import by_check, scan_app, scan_url  # noqa: E402

CHECK = "session.not-revoked-on-logout"


def still_signed_in(app: Flask, cookie: str) -> bool:
    client = app.test_client()
    client.set_cookie(*cookie.split("=", 1))
    return client.get("/profile").status_code == 200


def scan_twice(
    serve: Callable[..., str], app: Flask, **options: object
) -> list[tuple[ScanReport, str]]:
    """In-process and over a socket, each with a fresh signed-in session."""
    url = serve(app)
    out = []
    for scan, target in ((scan_app, app), (scan_url, url)):
        cookie = apps.login_cookie(app)
        out.append((scan(target, only=[CHECK], cookie=cookie, **options), cookie))
    return out


def test_runs_last() -> None:
    load_checks()
    check = REGISTRY.runnable(CHECK)
    assert check is not None and check.phase == LAST_PHASE
    assert all(c.phase < LAST_PHASE for c in REGISTRY.checks() if c.id != CHECK)


@pytest.mark.parametrize("post_logout", [False, True])
def test_cookie_session_survives_logout(serve: Callable[..., str], post_logout: bool) -> None:
    app = apps.revocation_app(post_logout=post_logout)
    for report, cookie in scan_twice(serve, app, active=True):
        [f] = by_check(report, CHECK)
        assert (f.severity, f.confidence, f.cwe) == ("medium", "certain", 613)
        assert f.category == "authentication" and f.owasp == "API2:2023"
        # the route takes GET and POST: in-process, route enumeration offers the POST too
        assert f.url.endswith("/logout") and f.method in (
            ("POST",) if post_logout else ("GET", "POST")
        )
        assert "cleared the cookie" in f.evidence and "GET /profile" in f.evidence
        assert "without credentials: redirected to /login-page" in f.evidence
        assert "Flask-Session" in f.remediation
        assert cookie.split("=", 1)[1] not in report.model_dump_json()  # the session is masked
        assert still_signed_in(app, cookie)  # the flaw itself: the copy still works


@pytest.mark.parametrize("server_side", [False, True])
def test_session_the_app_issued(scan_both: Callable[..., tuple[ScanReport, ScanReport]],
                                server_side: bool) -> None:  # fmt: skip
    """No -b: the session cookie the target set during the scan is the credential."""
    app = apps.revocation_app(guest=True, server_side=server_side)
    for report in scan_both(app, only=[CHECK], active=True):
        found = by_check(report, CHECK)
        if server_side:
            assert found == []
            continue
        [f] = found
        assert "the target set during the scan" in f.evidence and "GET /profile" in f.evidence


def test_server_side_session_is_revoked(serve: Callable[..., str]) -> None:
    app = apps.revocation_app(server_side=True)
    for report, cookie in scan_twice(serve, app, active=True):
        assert by_check(report, CHECK) == []
        assert not still_signed_in(app, cookie)  # logout really ran, and really revoked it


def test_default_mode_never_logs_out(serve: Callable[..., str]) -> None:
    """Without --active nothing is called, and the crawler does not follow the logout link."""
    app = apps.revocation_app(server_side=True)
    for report, cookie in scan_twice(serve, app):
        assert by_check(report, CHECK) == []
        assert still_signed_in(app, cookie)


def test_no_logout_endpoint_or_no_credential(serve: Callable[..., str]) -> None:
    app = apps.revocation_app()
    assert by_check(scan_app(app, only=[CHECK], active=True), CHECK) == []  # not signed in
    for report in (scan_app(apps_files.spa_app(), only=[CHECK], active=True, cookie="session=x"),):
        assert by_check(report, CHECK) == []


def catch_all_with_logout() -> Flask:
    """200 with the same page, which links a profile and a logout, for every path and method."""
    app = Flask("catch_all_logout")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST"])
    @app.route("/<path:path>", methods=["GET", "POST"])
    def anything(path: str) -> str:
        return '<title>SPA</title><a href="/profile">me</a> <a href="/logout">bye</a>'

    return app


def test_catch_all_with_logout_link_has_no_finding(serve: Callable[..., str]) -> None:
    for app in (catch_all_with_logout(), apps_files.spa_app()):
        url = serve(app)
        for report in (scan_app(app, only=[CHECK], active=True, cookie="session=abc"),
                       scan_url(url, only=[CHECK], active=True, cookie="session=abc")):  # fmt: skip
            assert by_check(report, CHECK) == []


def test_request_budget() -> None:
    app = apps.revocation_app()
    cookie = apps.login_cookie(app)
    discovery = scan_app(app, only=[], active=True, cookie=cookie).requests_sent
    assert scan_app(app, only=[CHECK], active=True, cookie=cookie).requests_sent - discovery <= 12


def scan_api(app: object, token: str) -> ScanReport:
    return scan_app(app, only=[CHECK], active=True, headers=[("Authorization", f"Bearer {token}")])


@pytest.mark.parametrize("denylist", [False, True])
def test_bearer_token_after_logout(denylist: bool) -> None:
    """FastAPI: the operations come from the app's own /openapi.json, the token from -H."""
    import apps_fastapi

    app = apps.token_api(denylist=denylist)
    reports = [scan_api(app, app.state.issue())]
    with apps_fastapi.serve_asgi(app) as url:
        reports.append(scan_url(url, only=[CHECK], active=True,
                                headers=[("Authorization", f"Bearer {app.state.issue()}")]))  # fmt: skip
    for report in reports:
        found = by_check(report, CHECK)
        if denylist:
            assert found == []
            continue
        [f] = found
        assert (f.method, f.confidence) == ("POST", "firm") and f.url.endswith("/api/logout")
        assert "GET /api/me" in f.evidence and "Authorization header" in f.evidence
        assert "without credentials: 401" in f.evidence


@pytest.mark.parametrize("denylist", [False, True])
def test_token_the_app_issued(denylist: bool) -> None:
    """No -H: the guest JWT the API's home page hands out is the credential."""
    import apps_fastapi

    app = apps.token_api(denylist=denylist, guest=True)
    reports = [scan_app(app, only=[CHECK], active=True)]
    with apps_fastapi.serve_asgi(app) as url:
        reports.append(scan_url(url, only=[CHECK], active=True))
    for report in reports:
        found = by_check(report, CHECK)
        if denylist:
            assert found == []
            continue
        [f] = found
        assert "token in the response body" in f.evidence and "GET /api/me" in f.evidence


@pytest.mark.parametrize("signed_cookies", [True, False])
def test_django_logout(serve: Callable[..., str], signed_cookies: bool) -> None:
    """Django's POST logout form with its CSRF token: the signed_cookies session engine
    cannot revoke a copied cookie; the cache engine's flush() does."""
    with apps.django_settings_kept():
        _django_logout(serve, signed_cookies)


def _django_logout(serve: Callable[..., str], signed_cookies: bool) -> None:
    from werkzeug.test import Client

    app = apps.django_revocation_app(signed_cookies=signed_cookies)
    url = serve(app)
    for scan, target in ((scan_app, app), (scan_url, url)):
        cookie = apps.django_login_cookie(app)
        report = scan(target, only=[CHECK], active=True, cookie=cookie)
        found = by_check(report, CHECK)
        client = Client(app)
        client.set_cookie("sessionid", cookie.split(";")[0].split("=", 1)[1], domain="127.0.0.1")
        status = client.get("/profile/", headers={"Host": "127.0.0.1"}).status_code
        if not signed_cookies:
            assert found == [] and status == 302  # the POST (with its token) logged out
            continue
        [f] = found
        assert f.method == "POST" and f.url.endswith("/logout/") and "GET /profile/" in f.evidence
        assert status == 200
