"""Weak signing keys: offline cracking of every signed artefact the scan saw."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask import Flask, jsonify, session
from itsdangerous import URLSafeTimedSerializer
from test_jwt_checks import _only_issued_or_unsigned, jwt_app

from conftest import by_check, scan_app, scan_url

CHECK = "auth.weak-signing-key"
ONLY = [CHECK]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def flask_app(key: str, title: str = "Shop", contents: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=key, SESSION_COOKIE_SAMESITE="Lax")

    @app.route("/")
    def index() -> Any:
        session.update(contents or {"user_id": 7, "role": "user"})
        return (
            f"<!doctype html><html><head><title>{title}</title></head>"
            '<body><a href="/api/items">items</a></body></html>'
        )

    @app.route("/api/items")
    def items() -> Any:
        return jsonify(items=[])

    return app


def _one(report: Any) -> Any:
    (f,) = by_check(report, CHECK)
    assert (f.severity, f.confidence, f.cwe, f.category, f.owasp) == (
        "high", "certain", 1391, "authentication", "API2:2023",
    )  # fmt: skip
    return f


@pytest.mark.parametrize("key", ["dev", "secret", "changeme"])
def test_default_key_is_cracked(key: str) -> None:
    report = scan_app(flask_app(key), only=ONLY)
    f = _one(report)
    masked = key[0] + "*" * (len(key) - 2) + key[-1]
    assert f.parameter == "session" and f"'{masked}'" in f.evidence
    assert f"'{key}'" not in f.evidence
    assert "built-in list" in f.evidence and "Flask session cookie" in f.evidence
    assert '"role": "admin"' in f.evidence and "verifies under this key (not sent)" in f.evidence
    if key == "changeme":
        assert key not in report.model_dump_json()


def test_harvested_title_key_over_a_socket(serve: Callable[..., str]) -> None:
    title = "Quokka Ledger"
    report = scan_url(serve(flask_app(title, title=title)), only=ONLY)
    f = _one(report)
    assert "harvested from the target" in f.evidence and "'Q***********r'" in f.evidence
    assert title not in report.model_dump_json()


def test_random_key_is_not_reported(scan_both: Callable[..., Any]) -> None:
    for report in scan_both(flask_app(secrets.token_hex(32)), only=ONLY):
        assert by_check(report, CHECK) == []
        assert report.errors == []


def test_compressed_session_is_cracked() -> None:
    app = flask_app("changeme", contents={"cart": ["widget"] * 300, "user_id": 1})
    f = _one(scan_app(app, only=ONLY))
    assert "'c******e'" in f.evidence


def test_no_request_is_sent_by_the_check() -> None:
    app = flask_app("dev")
    with_check = scan_app(app, only=ONLY)
    without = scan_app(app, only=[])
    assert with_check.requests_sent == without.requests_sent


def test_user_wordlist_and_user_cookie(tmp_path: Path, serve: Callable[..., str]) -> None:
    """A key only the user's wordlist knows; the cookie comes from --cookie (multi-process)."""
    key = "k-" + secrets.token_hex(8)
    words = tmp_path / "words.txt"
    words.write_text("\n".join([*(f"w{i}" for i in range(30_000)), key, "zz"]) + "\n")
    app = flask_app(key)
    cookie = app.test_client().get("/").headers["Set-Cookie"].split(";")[0]
    plain = Flask(__name__)  # the target itself sets no cookie
    plain.route("/")(lambda: "<title>t</title>")
    report = scan_url(serve(plain), only=ONLY, cookie=cookie, wordlist=str(words))
    f = _one(report)
    assert "the user's wordlist" in f.evidence and "given with --cookie" in f.evidence
    assert key not in report.model_dump_json()


def test_csrf_token_in_html_body() -> None:
    """A Flask-WTF style CSRF token in a hidden form field (itsdangerous, salt wtf-csrf-token)."""
    app = Flask(__name__)

    @app.route("/")
    def form() -> Any:
        token = URLSafeTimedSerializer("secret-key", salt="wtf-csrf-token").dumps("a" * 40)
        return f'<form method="post"><input type="hidden" name="csrf_token" value="{token}"></form>'

    f = _one(scan_app(app, only=ONLY))
    assert "Flask-WTF CSRF token" in f.evidence and f.parameter == "token"


def test_jwt_secret_is_cracked_and_nothing_forged_is_sent() -> None:
    app = jwt_app(verify=True)
    report = scan_app(app, only=[CHECK, "jwt.alg-none"])
    f = _one(report)
    assert f.url.endswith("/login") and "JWT (HS256)" in f.evidence and "'s****t'" in f.evidence
    assert by_check(report, "jwt.alg-none") == []
    _only_issued_or_unsigned(app)  # the cracked key never signed anything that was sent


def test_key_disclosed_by_debug_toolbar() -> None:
    pytest.importorskip("flask_debugtoolbar")
    from flask_debugtoolbar import DebugToolbarExtension

    key = secrets.token_hex(16)  # not guessable: only the toolbar gives it away
    app = flask_app(key)
    app.config.update(DEBUG=True, DEBUG_TB_INTERCEPT_REDIRECTS=False)
    app.debug = True
    DebugToolbarExtension(app)
    report = scan_app(app, only=[CHECK, "flask.debug-toolbar"])
    f = _one(report)
    assert "disclosed by the target" in f.evidence and "no cracking needed" in f.evidence
    assert f.title.endswith("signed with a key the target discloses")
    assert key not in f.evidence


def test_forged_payload_edits_privileges() -> None:
    from apigrade.checks.authentication.weak_keys import FORGED_MARK, forged_payload, prove
    from apigrade.crack import parse_token

    token = parse_token(jwt.encode({"sub": "1", "role": "user"}, "secret", algorithm="HS256"))
    assert token is not None
    assert forged_payload(token) == {"sub": "1", "role": "admin", FORGED_MARK: True}
    assert "verifies under this key" in prove(token, "secret")


def test_flask_login_remember_cookie() -> None:
    """Flask-Login's remember cookie: "<user id>|HMAC-SHA512(SECRET_KEY, user id)"."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        digest = hmac.new(b"changeme", b"7", hashlib.sha512).hexdigest()
        resp = jsonify(ok=True)
        resp.set_cookie("remember_token", f"7|{digest}", httponly=True, samesite="Lax")
        return resp

    f = _one(scan_app(app, only=ONLY))
    assert f.parameter == "remember_token" and "Flask-Login remember cookie" in f.evidence
    assert 'payload "1"' in f.evidence  # forged: log in as user 1


def test_known_keys_are_verified_before_cracking() -> None:
    from apigrade.checks.authentication.weak_keys import find_key
    from apigrade.crack import parse_token

    strong = secrets.token_hex(16)
    for key, guessable in ((strong, False), ("dev", True)):
        cookie = flask_app(key).test_client().get("/").headers["Set-Cookie"]
        token = parse_token(cookie.split(";")[0].split("=", 1)[1], name="session")
        assert token is not None
        found = find_key(token, [("nope", "a"), (key, "http://t/_debug")], {}, None, [])
        assert found is not None and found.key == key and found.guessable is guessable
        assert "http://t/_debug" in found.how
        assert ("no cracking needed" in found.how) is not guessable
