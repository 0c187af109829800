"""Authentication (API2): missing auth, tokens in URLs, Basic over HTTP, echoed credentials."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api as apps  # noqa: E402
from apps_api import ALICE, AUTH, by_check, extra_requests, mine, scan_app, scan_url  # noqa: E402

MISSING = "auth.missing-authentication"
TOKEN_URL = "auth.token-in-url"
BASIC = "auth.basic-over-http"
ECHO = "auth.credentials-echoed"
ALICE_TOKEN = ALICE[1].removeprefix("Bearer ")


def _by_path(report: apps.ScanReport, check_id: str) -> dict[str, apps.Finding]:
    return {urlsplit(f.url).path: f for f in by_check(report, check_id)}


def test_secured_and_private_routes_answering_anonymously() -> None:
    report = scan_app(apps.auth_app(), only=[MISSING])
    found = _by_path(report, MISSING)
    assert set(found) == {"/api/me", "/api/orders", "/api/account"}
    for path in ("/api/me", "/api/orders"):
        f = found[path]
        assert f.severity == "high" and f.confidence == "firm" and f.cwe == 306
        assert f.category == "authentication" and f.owasp == "API2:2023"
        assert "the spec requires authentication" in f.evidence
    account = found["/api/account"]  # private by its path and fields, not by the spec
    assert account.severity == "medium" and account.confidence == "tentative"
    assert "email" in account.evidence


def test_credentials_make_the_comparison_certain(serve: Callable[..., str]) -> None:
    for report in (
        scan_app(apps.auth_app(), only=[MISSING], headers=[ALICE]),
        scan_url(serve(apps.auth_app()), only=[MISSING], headers=[ALICE]),
    ):
        found = _by_path(report, MISSING)
        assert found["/api/me"].confidence == "certain"
        assert "same answer as with the given credentials" in found["/api/me"].evidence
        assert found["/api/account"].confidence == "firm"


def test_anonymous_probes_drop_the_users_credentials() -> None:
    rec = apps.Recorder(apps.auth_app())
    scan_app(rec, only=[MISSING], headers=[ALICE])
    me = [h for m, p, _, h in rec.seen if p == "/api/me"]
    assert any("authorization" not in h for h in me) and any("authorization" in h for h in me)


def test_token_in_url_from_links_and_redirects() -> None:
    report = scan_app(apps.auth_app(), only=[TOKEN_URL])
    found = {(urlsplit(f.url).path, f.parameter): f for f in by_check(report, TOKEN_URL)}
    assert set(found) == {("/api/export", "token"), ("/home", "access_token")}
    for f in found.values():
        assert f.cwe == 200 and f.severity == "medium"
        assert "exp0rt-t0ken-1234567" not in f.evidence
        assert "cb-access-t0ken-98765" not in f.evidence


def test_spec_declared_token_query_parameter() -> None:
    from flask import Flask, jsonify

    app = Flask("spec_token")
    doc = apps.spec({"/api/data": {"get": apps.op(parameters=[
        {"name": "api_key", "in": "query", "required": True, "schema": {"type": "string"}}])}})  # fmt: skip
    app.add_url_rule("/openapi.json", "spec", lambda: jsonify(doc))
    [hit] = by_check(scan_app(app, only=[TOKEN_URL]), TOKEN_URL)
    assert hit.parameter == "api_key" and "the spec declares" in hit.evidence


def test_basic_auth_over_http(serve: Callable[..., str]) -> None:
    remote = scan_app(apps.auth_app(), only=[BASIC], base_url="http://api.example.test/")
    [hit] = by_check(remote, BASIC)
    assert hit.severity == "medium" and hit.cwe == 319 and 'Basic realm="reports"' in hit.evidence
    for local in (
        scan_app(apps.auth_app(), only=[BASIC]),
        scan_url(serve(apps.auth_app()), only=[BASIC]),
    ):
        [hit] = by_check(local, BASIC)
        assert hit.severity == "info"  # loopback: local development (contract)


def test_credentials_echoed_in_a_body(serve: Callable[..., str]) -> None:
    for report in (
        scan_app(apps.auth_app(), only=[ECHO], headers=[ALICE]),
        scan_url(serve(apps.auth_app()), only=[ECHO], headers=[ALICE]),
    ):
        [hit] = by_check(report, ECHO)
        assert urlsplit(hit.url).path == "/api/echo" and hit.cwe == 200
        assert ALICE_TOKEN not in hit.evidence and "Authorization" in hit.evidence
    assert not by_check(scan_app(apps.auth_app(), only=[ECHO]), ECHO)  # nothing sent


def test_echoed_session_cookie_but_not_a_double_submit_csrf_cookie() -> None:
    from flask import Flask, jsonify, request

    app = Flask("cookie_echo")
    app.add_url_rule("/", "i", lambda: apps.page("/form", "/whoami"))
    app.add_url_rule(
        "/form", "f",
        lambda: f'<form method="post"><input type="hidden" name="csrf" '
        f'value="{request.cookies.get("csrftoken")}"></form>',
    )  # fmt: skip
    app.add_url_rule("/whoami", "w", lambda: jsonify(cookies=dict(request.cookies)))
    cookie = "csrftoken=csrf-0123456789abc; session=sess-0123456789abc"
    [hit] = by_check(scan_app(app, only=[ECHO], cookie=cookie), ECHO)
    assert urlsplit(hit.url).path == "/whoami" and "sess-0123456789abc" not in hit.evidence


def test_fixed_app_has_no_findings(serve: Callable[..., str]) -> None:
    app = apps.auth_app(secure=True)
    for report in (
        scan_app(app, only=AUTH, headers=[ALICE], base_url="http://api.example.test/"),
        scan_app(app, only=AUTH),
        scan_url(serve(app), only=AUTH, headers=[ALICE]),
    ):
        assert not mine(report, AUTH), report.findings


def test_request_bounds() -> None:
    app = apps.auth_app()
    assert 0 < extra_requests(app, [MISSING], headers=[ALICE]) <= 24 + 3
    assert extra_requests(app, [TOKEN_URL, BASIC, ECHO], headers=[ALICE]) == 0
