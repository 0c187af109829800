"""Client-trusted session state (CWE-565): identity in an unsigned cookie."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.core import signing
from flask import Flask, session

from apigrade.checks.common.client_state import decode_state, forgeries
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_files  # noqa: E402
import apps_sessions as apps  # noqa: E402

from conftest import by_check, scan_app  # noqa: E402

CHECK = "session.client-trusted-state"
Both = Callable[..., tuple[ScanReport, ScanReport]]


def b64(data: object) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def flask_session_cookie(data: dict[str, object]) -> str:
    app = Flask("signer")
    app.config["SECRET_KEY"] = "s" * 32

    @app.route("/")
    def index() -> str:
        session.update(data)
        return ""

    header = app.test_client().get("/").headers["Set-Cookie"]
    return header.split("=", 1)[1].split(";", 1)[0]


@pytest.mark.parametrize(
    ("name", "value", "fields", "encoding"),
    [
        ("user", b64({"username": "bob", "role": "user"}), ("role", "username"), "base64 json"),
        ("auth", json.dumps({"user_id": 7, "theme": "dark"}), ("user_id",), "json"),
        (
            "s",
            quote(json.dumps({"u": {"is_admin": False}}), safe=""),
            ("u.is_admin",),
            "url-encoded json",
        ),
        ("data", "username=bob&role=user", ("role", "username"), "pairs"),
        ("data", base64.urlsafe_b64encode(b"uid=7&lang=en").decode(), ("uid",), "base64 pairs"),
        ("role", "user", ("role",), "plain"),
        ("isAdmin", "false", ("isAdmin",), "plain"),
        ("user_id", "42", ("user_id",), "plain"),
    ],
)
def test_unsigned_identity_is_client_state(
    name: str, value: str, fields: tuple[str, ...], encoding: str
) -> None:
    state = decode_state(name, value)
    assert state is not None and state.fields == fields and state.encoding == encoding
    forged = forgeries(state)
    assert forged and all(decode_state(name, f.value) is not None for f in forged)
    assert forged[0].new != forged[0].old


def test_signed_and_opaque_values_are_not() -> None:
    data = {"username": "bob", "role": "user"}
    signer = signing.Signer(key="k" * 50, fallback_keys=[])
    not_state = {
        "session": flask_session_cookie(data),  # Flask (itsdangerous)
        "sessionid": signing.TimestampSigner(key="k" * 50, salt="x", fallback_keys=[]).sign_object(
            data
        ),  # Django signing
        "token": "eyJhbGciOiJIUzI1NiJ9." + b64(data).rstrip("=") + ".c2lnbmF0dXJl",  # JWT
        "_app_session": b64(data) + "--" + "0123456789abcdef" * 3,  # Rails signed
        "prefs": b64({"theme": "dark", "lang": "en"}),  # no identity field
        "uid": "7f3a9c0b1d2e3f4a5b6c7d8e",  # a random id, not a name
        "remember": signer.sign("bob"),
        "user2": b64({**data, "sig": "abcdef0123"}),  # carries its own signature
    }
    for name, value in not_state.items():
        assert decode_state(name, value) is None, name
    # cookie-session (Express) signs "session" in a sibling "session.sig" cookie
    assert decode_state("session", b64(data), frozenset({"session", "session.sig"})) is None


def test_passive_finding_sends_nothing(scan_both: Both) -> None:
    app = apps.state_app()
    for report in scan_both(app, only=[CHECK]):
        [f] = by_check(report, CHECK)
        assert (f.severity, f.confidence, f.cwe, f.parameter) == ("medium", "firm", 565, "user")
        assert f.category == "authentication" and f.owasp == "API2:2023"
        assert "base64 json" in f.evidence and "role=user" in f.evidence
        assert "username=g***t" in f.evidence  # identities masked, privileges shown
        assert "SECRET_KEY" in f.remediation
    assert scan_app(app, only=[CHECK]).requests_sent == scan_app(app, only=[]).requests_sent


@pytest.mark.parametrize("plain", [False, True])
def test_active_forgery_confirms(scan_both: Both, plain: bool) -> None:
    for report in scan_both(apps.state_app(plain=plain), only=[CHECK], active=True):
        [f] = by_check(report, CHECK)
        assert (f.severity, f.confidence) == ("critical", "certain")
        assert "Forged role: user -> admin" in f.evidence and "/admin followed" in f.evidence
        assert "403" in f.evidence


def test_plain_cookie_is_tentative_by_default(scan_both: Both) -> None:
    for report in scan_both(apps.state_app(plain=True), only=[CHECK]):
        [f] = by_check(report, CHECK)
        assert (f.severity, f.confidence, f.parameter) == ("low", "tentative", "role")


@pytest.mark.parametrize("active", [False, True])
def test_signed_session_is_clean(scan_both: Both, active: bool) -> None:
    for report in scan_both(apps.state_app(signed=True), only=[CHECK], active=active):
        assert by_check(report, CHECK) == []


def test_catch_all_app_has_no_findings(scan_both: Both) -> None:
    for report in scan_both(apps_files.spa_app(), only=[CHECK], active=True,
                            cookie="role=user; uid=7"):  # fmt: skip
        # the user's own cookies look like client state, but nothing follows a forgery
        assert by_check(report, CHECK) == []


def test_user_cookie_confirmed_with_active(scan_both: Both) -> None:
    """A -b cookie (a session the user signed in for) is reported once a forgery works."""
    cookie = "user=" + b64({"username": "guest", "role": "user"})
    for report in scan_both(apps.state_app(), only=[CHECK], active=True, cookie=cookie):
        [f] = by_check(report, CHECK)
        assert f.confidence == "certain" and "Forged role" in f.evidence
    assert by_check(scan_app(apps_files.spa_app(), only=[CHECK], cookie=cookie), CHECK) == []


def test_request_budget() -> None:
    app = apps.state_app()
    discovery = scan_app(app, only=[], active=True).requests_sent
    assert scan_app(app, only=[CHECK], active=True).requests_sent - discovery <= 24


def echo_app() -> Flask:
    """Sets an unsigned identity cookie but trusts nothing: pages only show the cookie back."""
    from flask import make_response, request

    app = Flask("echo_cookie")

    @app.route("/")
    def index() -> Any:
        raw = request.cookies.get("user", "")
        try:
            shown = json.dumps(json.loads(base64.b64decode(raw)))
        except ValueError:
            shown = "{}"
        resp = make_response(
            f'<title>echo</title><a href="/profile">p</a> raw={raw} decoded={shown}'
        )
        resp.set_cookie("user", b64({"username": "guest", "role": "user"}), samesite="Lax")
        return resp

    @app.route("/profile")
    def profile() -> str:
        return "<title>profile</title>Hello guest, your account"

    return app


def test_a_page_echoing_the_cookie_is_not_a_confirmation(scan_both: Both) -> None:
    for report in scan_both(echo_app(), only=[CHECK], active=True):
        [f] = by_check(report, CHECK)  # still unsigned identity, but nothing followed it
        assert (f.severity, f.confidence) == ("medium", "tentative")
        assert "changed no page" in f.evidence
