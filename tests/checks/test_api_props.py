"""Property-level authorisation (API3): excessive data exposure, mass assignment."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api as apps  # noqa: E402
from apps_api import PROPS, by_check, extra_requests, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.property_authorization.excessive_data import find_leaks, luhn  # noqa: E402
from apigrade.model import Severity  # noqa: E402

EXPOSED = "props.excessive-data-exposure"
MASS = "props.mass-assignment"


def test_excessive_data_is_reported_masked(serve: Callable[..., str]) -> None:
    app = apps.props_app()
    for report in (scan_app(app, only=[EXPOSED]), scan_url(serve(app), only=[EXPOSED])):
        hits = {urlsplit(f.url).path: f for f in by_check(report, EXPOSED)}
        users = hits["/api/users"]
        assert users.severity == "high" and users.cwe == 213 and users.owasp == "API3:2023"
        assert users.category == "property-authorization"
        for kind in ("Werkzeug pbkdf2 hash", "secret or API key", "card number (Luhn valid)",
                     "e-mail addresses in a list", "internal"):  # fmt: skip
            assert kind in users.evidence, kind
        for raw in (apps.PW_HASH, "ak_live_0123456789abcdef", "4111 1111 1111 1111",
                    "alice@example.com", "refund twice"):  # fmt: skip
            assert raw not in users.evidence
        assert hits["/api/users/1"].severity == "low"  # only the is_admin flag


def test_mass_assignment_needs_active_and_is_confirmed(serve: Callable[..., str]) -> None:
    rec = apps.Recorder(apps.props_app())
    assert not by_check(scan_app(rec, only=[MASS]), MASS)
    assert not [m for m, *_ in rec.seen if m == "POST"]
    for report in (
        scan_app(apps.props_app(), only=[MASS], active=True),
        scan_url(serve(apps.props_app()), only=[MASS], active=True),
    ):
        [hit] = by_check(report, MASS)
        assert hit.method == "POST" and urlsplit(hit.url).path == "/api/register"
        assert hit.confidence == "certain" and hit.cwe == 915
        assert "is_admin: true" in hit.evidence and 'role: "admin"' in hit.evidence


def test_mass_assignment_payload_is_harmless() -> None:
    rec = apps.Recorder(apps.props_app())
    scan_app(rec, only=[MASS], active=True)
    [(_, path, _, headers)] = [s for s in rec.seen if s[0] == "POST"]
    assert path == "/api/register" and headers["content-type"] == "application/json"
    [body] = [json.loads(b) for b in rec.bodies]
    assert body["is_admin"] is True and body["role"] == "admin" and body["admin"] is True
    assert body["username"].startswith("apigrade_") and body["email"].endswith("@example.com")


def test_allow_listed_binding_and_blind_echo_are_not_mass_assignment(
    serve: Callable[..., str],
) -> None:
    for report in (
        scan_app(apps.props_app(secure=True), only=PROPS, active=True),
        scan_url(serve(apps.props_app(secure=True)), only=PROPS, active=True),
    ):
        assert not mine(report, PROPS), report.findings
    echo = scan_app(apps.props_app(echo_only=True), only=PROPS, active=True)
    assert not by_check(echo, MASS)
    # the echoed request fields (our own password, is_admin) are not exposures either
    assert "/api/register" not in {urlsplit(f.url).path for f in by_check(echo, EXPOSED)}


def test_find_leaks() -> None:
    bcrypt = "$2b$12$" + "a" * 53
    body = {
        "items": [
            {"email": "a@x.io", "hash": bcrypt, "ssn": "123-45-6789"},
            {"email": "b@x.io", "token": "tok_0123456789"},
        ],
        "password": "********",  # a placeholder, not a password
        "argon": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "otp": "493021",
    }
    kinds = {lk.kind: lk for lk in find_leaks(body)}
    assert set(kinds) == {"bcrypt hash", "SSN-like number", "token in a list of records",
                          "argon2 hash", "one-time token or code", "2 e-mail addresses in a list"}  # fmt: skip
    assert all(lk.severity == Severity.HIGH for k, lk in kinds.items() if "e-mail" not in k)
    assert not find_leaks({"id": 1, "name": "widget", "access_token": "abcdefghijkl"})
    assert not find_leaks([{"email": "only@one.io"}])
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert not find_leaks({"order_number": "4111111111111111"})  # no card hint, no separators
    assert find_leaks({"card": "4111-1111-1111-1111"})


def test_specs_are_not_exposures() -> None:
    spec = json.dumps(apps.spec({"/x": {"get": apps.op(parameters=[
        {"name": "password", "in": "query", "example": "$2b$12$" + "a" * 53}])}}))  # fmt: skip
    from flask import Flask

    app = Flask("spec_only")
    app.add_url_rule(
        "/openapi.json", "s", lambda: (spec, 200, {"Content-Type": "application/json"})
    )
    assert not by_check(scan_app(app, only=[EXPOSED]), EXPOSED)


def test_request_bounds() -> None:
    assert extra_requests(apps.props_app(), [EXPOSED]) == 0
    assert 0 < extra_requests(apps.props_app(), [MASS], active=True) <= 9
