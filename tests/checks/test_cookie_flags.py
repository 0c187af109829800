"""Cookie flags: HttpOnly, SameSite, lifetime (misconfiguration) and Secure (encryption)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, jsonify, make_response, session

from apigrade.checks import load_checks
from apigrade.checks.context import CheckContext, Hit, ScanState
from apigrade.checks.encryption.cookie_secure import cookie_secure
from apigrade.checks.misconfiguration.cookie_flags import cookie_flags
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.engine.target import Target
from conftest import by_check

ONLY = ["cookie.missing-httponly", "cookie.missing-secure"]


def _app(**config: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="k" * 32, **config)

    @app.route("/")
    def index() -> Any:
        session["n"] = session.get("n", 0) + 1
        resp = make_response('<title>x</title><a href="/api/items">items</a>')
        resp.set_cookie("csrftoken", "abc123", samesite="Lax")  # legitimately script-readable
        resp.set_cookie("theme", "dark")  # not session-like
        return resp

    @app.route("/api/items")
    def items() -> Any:
        return jsonify(items=[])

    @app.route("/logout")
    def logout() -> Any:
        resp = jsonify(ok=True)
        resp.delete_cookie("auth_token")  # deletions carry no flags and are ignored
        return resp

    return app


def test_weak_session_cookie_flags(scan_both: Callable[..., Any]) -> None:
    app = _app(
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SAMESITE=None,
        SESSION_PERMANENT=True,
    )

    @app.before_request
    def permanent() -> None:
        session.permanent = True  # Flask's default lifetime: 31 days

    for report in scan_both(app, only=ONLY):
        httponly = by_check(report, "cookie.missing-httponly")
        samesite = by_check(report, "cookie.missing-samesite")
        lifetime = by_check(report, "cookie.long-lifetime")
        assert [f.parameter for f in httponly] == ["session"]
        assert [f.parameter for f in samesite] == ["session"]
        assert [f.parameter for f in lifetime] == ["session"]
        assert httponly[0].cwe == 1004 and samesite[0].cwe == 1275
        assert "SESSION_COOKIE_HTTPONLY = True" in httponly[0].remediation
        assert "31 days" in lifetime[0].evidence
        assert httponly[0].url == report.target  # one finding per name, stable id
        assert not by_check(report, "cookie.missing-secure")  # plain HTTP target


def test_hardened_cookies_have_no_findings(scan_both: Callable[..., Any]) -> None:
    app = _app(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=30),
    )
    for report in scan_both(app, only=ONLY):
        assert [f.check_id for f in report.findings if f.check_id.startswith("cookie.")] == []


# -- Secure: a unit test on the passive check with a hand-built HTTPS exchange ----------


class _Ctx(CheckContext):
    def __init__(self, target: Target) -> None:
        state = ScanState(target=target, engine=None, baseline=None)  # type: ignore[arg-type]
        super().__init__(state, "cookie.missing-secure", lambda _c, _h: None)


def _exchange(url: str, *set_cookies: str) -> Exchange:
    headers = tuple(("Set-Cookie", c) for c in set_cookies)
    return Exchange(probe=Probe(url=url), response=Response(200, headers, b""), url=url)


def _secure_hits(base: str, *set_cookies: str) -> list[Hit]:
    load_checks()
    ctx = _Ctx(Target.parse(base))
    return list(cookie_secure(_exchange(base + "api", *set_cookies), ctx))


def test_secure_missing_on_https() -> None:
    hits = _secure_hits(
        "https://api.example.com/",
        "session=abc; HttpOnly; Path=/; SameSite=Lax",
        "csrftoken=x; Path=/",
        "theme=dark; Path=/",
        "sessionid=ok; Secure; HttpOnly",
    )
    sev = {h.parameter: h.severity for h in hits}
    assert sev == {"session": None, "csrftoken": None, "theme": "info"}  # None: declared medium
    assert "SESSION_COOKIE_SECURE = True" in (hits[0].remediation or "")


def test_no_secure_finding_over_http() -> None:
    assert _secure_hits("http://api.example.com/", "session=abc; HttpOnly") == []


def test_samesite_none_without_secure_and_remember_cookie() -> None:
    load_checks()
    ctx = _Ctx(Target.parse("https://api.example.com/"))
    ex = _exchange(
        "https://api.example.com/",
        "remember_token=1|abc; Expires=Wed, 01 Jan 2100 00:00:00 GMT; HttpOnly; SameSite=None",
        "auth=x; HttpOnly; SameSite=None; Secure",
    )
    hits = list(cookie_flags(ex, ctx))
    kinds = {(h.check, h.parameter, h.severity) for h in hits}
    assert kinds == {
        ("cookie.missing-samesite", "remember_token", None),
        ("cookie.long-lifetime", "remember_token", "info"),  # by design for "remember me"
    }
    assert "REMEMBER_COOKIE_SAMESITE" in (hits[0].remediation or "")
