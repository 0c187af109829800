"""JWT checks: alg-none acceptance (bounded GET probes) and claims analysis."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from flask import Flask, g, jsonify, request

from apigrade.checks.authentication.jwt_checks import decode_unverified, unsigned_copy
from conftest import by_check, scan_app, scan_url

KEY = "secret"
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
ONLY = ["jwt.alg-none"]


def _claims(lifetime: int | None = 7 * 24 * 3600) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "42",
        "email": "alice@example.com",
        "role": "admin",
        "iat": now,
    }
    if lifetime is not None:
        claims["exp"] = now + lifetime
    return claims


def jwt_app(verify: bool, lifetime: int | None = 7 * 24 * 3600) -> Flask:
    """/login issues an HS256 token; /api/me wants it (checked properly or not at all)."""
    app = Flask(__name__)
    app.config["seen_tokens"] = seen = []

    @app.before_request
    def record() -> None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            seen.append(auth[7:])

    @app.route("/")
    def index() -> Any:
        return '<title>api</title><a href="/login">login</a> <a href="/api/me">me</a>'

    @app.route("/login")
    def login() -> Any:
        return jsonify(token=jwt.encode(_claims(lifetime), KEY, algorithm="HS256"))

    @app.route("/api/me")
    def me() -> Any:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not token:
            return jsonify(error="token required"), 401
        try:
            if verify:
                g.claims = jwt.decode(token, KEY, algorithms=["HS256"])
            else:  # the classic mistake
                g.claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return jsonify(error="bad token"), 401
        return jsonify(user=g.claims["sub"])

    return app


def _only_issued_or_unsigned(app: Flask) -> None:
    """Every token the app received was issued by it, or an unsigned alg-none copy."""
    for token in app.config["seen_tokens"]:
        header = jwt.get_unverified_header(token)
        if header["alg"].lower() == "none":
            assert token.endswith(".")
        else:
            jwt.decode(token, KEY, algorithms=["HS256"])  # raises if forged with another key


def test_unsigned_copy_keeps_claims() -> None:
    token = jwt.encode({"sub": "1"}, KEY, algorithm="HS256")
    forged = unsigned_copy(token, "None")
    assert forged.endswith(".") and forged.split(".")[1] == token.split(".")[1]
    decoded = decode_unverified(forged)
    assert decoded is not None and decoded.header["alg"] == "None"
    assert decoded.claims == {"sub": "1"}
    assert decode_unverified("eyJub3QiOiJqd3QifQ.abc.def") is None


@pytest.mark.parametrize("mode", ["inproc", "socket"])
def test_alg_none_accepted(mode: str, serve: Callable[..., str]) -> None:
    app = jwt_app(verify=False)
    report = scan_app(app, only=ONLY) if mode == "inproc" else scan_url(serve(app), only=ONLY)
    found = by_check(report, "jwt.alg-none")
    assert len(found) == 1
    f = found[0]
    assert (f.severity, f.confidence, f.cwe, f.category) == (
        "high",
        "certain",
        347,
        "authentication",
    )
    assert f.url.endswith("/api/me") and f.method == "GET"
    assert "without a token -> 401" in f.evidence and 'alg "none"' in f.evidence
    baseline = scan_app(app, only=[]) if mode == "inproc" else scan_url(serve(app), only=[])
    assert report.requests_sent - baseline.requests_sent <= 10  # the check's own bound
    _only_issued_or_unsigned(app)


def test_correct_verifier_has_no_alg_none_finding() -> None:
    app = jwt_app(verify=True)
    report = scan_app(app, only=ONLY)
    assert by_check(report, "jwt.alg-none") == []
    sent_unsigned = [t for t in app.config["seen_tokens"] if t.endswith(".")]
    assert len(sent_unsigned) == 3  # "none", "None", "NONE": all refused
    _only_issued_or_unsigned(app)


def test_claims_analysis() -> None:
    report = scan_app(jwt_app(verify=True), only=ONLY)
    (long_life,) = by_check(report, "jwt.long-lifetime")
    assert long_life.url.endswith("/login") and "168 h" in long_life.evidence
    (claims,) = by_check(report, "jwt.sensitive-claims")
    assert claims.severity == "info" and "email=a" in claims.evidence
    assert "alice@example.com" not in claims.evidence and "role=a***n" in claims.evidence
    assert by_check(report, "jwt.missing-exp") == []

    report = scan_app(jwt_app(verify=True, lifetime=None), only=ONLY)
    assert len(by_check(report, "jwt.missing-exp")) == 1
    assert by_check(report, "jwt.long-lifetime") == []

    report = scan_app(jwt_app(verify=True, lifetime=900), only=ONLY)
    assert by_check(report, "jwt.long-lifetime") == by_check(report, "jwt.missing-exp") == []


def test_user_given_bearer_token(serve: Callable[..., str]) -> None:
    """With -H 'Authorization: Bearer …' every request carries it; the check removes it."""
    app = jwt_app(verify=False)
    token = jwt.encode(_claims(900), KEY, algorithm="HS256")
    url = serve(app)
    report = scan_url(url, only=ONLY, headers=[("Authorization", f"Bearer {token}")])
    (f,) = by_check(report, "jwt.alg-none")
    assert f.parameter == "Authorization" and "without a token -> 401" in f.evidence
    assert token not in report.model_dump_json()
    _only_issued_or_unsigned(app)
