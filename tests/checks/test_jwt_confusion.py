"""JWT RS/HS key confusion: HS256 copies signed with the exposed public key (--active only)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request

from apigrade.checks.authentication.jwt_checks import hs256_copy, jwks_keys, pem_keys
from conftest import by_check, scan_app, scan_url

ONLY = ["jwt.alg-none"]  # the check that emits jwt.key-confusion

PRIVATE = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PUBLIC = PRIVATE.public_key()
PUBLIC_PEM = PUBLIC.public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _vulnerable_decode(token: str) -> dict[str, Any]:
    """The classic mistake: the token's header chooses the algorithm, one key for all."""
    head, payload, sig = token.split(".")
    alg = json.loads(_b64decode(head)).get("alg")
    if alg == "HS256":
        mac = hmac.new(PUBLIC_PEM, f"{head}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(mac, _b64decode(sig)):
            raise jwt.InvalidSignatureError("bad signature")
        claims: dict[str, Any] = json.loads(_b64decode(payload))
        return claims
    if alg == "RS256":
        return jwt.decode(token, PUBLIC, algorithms=["RS256"])
    raise jwt.InvalidAlgorithmError(str(alg))


def rs_app(vulnerable: bool) -> Flask:
    """/login issues an RS256 token, its JWKS is public, /api/me wants the token."""
    app = Flask(__name__)
    app.config["seen_algs"] = seen = []

    @app.before_request
    def record() -> None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            try:
                seen.append(jwt.get_unverified_header(auth[7:]).get("alg"))
            except jwt.PyJWTError:
                seen.append("?")

    @app.route("/")
    def index() -> Any:
        return '<title>api</title><a href="/login">login</a> <a href="/api/me">me</a>'

    @app.route("/login")
    def login() -> Any:
        now = int(time.time())
        claims = {"sub": "42", "iat": now, "exp": now + 900}
        token = jwt.encode(claims, PRIVATE, algorithm="RS256", headers={"kid": "k1"})
        return jsonify(token=token)

    @app.route("/.well-known/jwks.json")
    def jwks() -> Any:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PUBLIC))
        return jsonify(keys=[{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}])

    @app.route("/api/me")
    def me() -> Any:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not token:
            return jsonify(error="token required"), 401
        try:
            if vulnerable:
                claims = _vulnerable_decode(token)
            else:
                claims = jwt.decode(token, PUBLIC, algorithms=["RS256"])
        except (jwt.PyJWTError, ValueError):
            return jsonify(error="bad token"), 401
        return jsonify(user=claims["sub"])

    return app


def test_forged_copy_verifies_like_the_vulnerable_server() -> None:
    token = jwt.encode({"sub": "1"}, PRIVATE, algorithm="RS256")
    forged = hs256_copy(token, PUBLIC_PEM)
    assert forged.split(".")[1] == token.split(".")[1]
    assert _vulnerable_decode(forged) == {"sub": "1"}
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(forged, PUBLIC, algorithms=["RS256"])


def test_key_extraction() -> None:
    escaped = json.dumps({"public_key": PUBLIC_PEM.decode()}).replace("/", "\\/")
    (found,) = pem_keys(escaped, "here")
    assert PUBLIC_PEM in found.secrets() and PUBLIC_PEM.rstrip(b"\n") in found.secrets()
    jwks = json.dumps({"keys": [json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PUBLIC))]})
    (from_jwk,) = jwks_keys(jwks, "there")
    assert from_jwk.secrets()[0] == PUBLIC_PEM
    assert jwks_keys("not json", "x") == [] and pem_keys("-----BEGIN PUBLIC KEY-----", "x") == []


@pytest.mark.parametrize("mode", ["inproc", "socket"])
def test_key_confusion_found(mode: str, serve: Callable[..., str]) -> None:
    app = rs_app(vulnerable=True)
    options: dict[str, Any] = {"only": ONLY, "active": True}
    report = scan_app(app, **options) if mode == "inproc" else scan_url(serve(app), **options)
    (f,) = by_check(report, "jwt.key-confusion")
    assert (f.severity, f.confidence, f.cwe, f.category) == (
        "high",
        "certain",
        347,
        "authentication",
    )
    assert f.url.endswith("/api/me") and f.method == "GET"
    assert "without a token -> 401" in f.evidence and "HS256 copy" in f.evidence
    assert "jwks.json" in f.evidence
    assert by_check(report, "jwt.alg-none") == []
    assert 1 <= app.config["seen_algs"].count("HS256") <= 6


def test_correct_verifier_has_no_finding() -> None:
    app = rs_app(vulnerable=False)
    report = scan_app(app, only=ONLY, active=True)
    assert by_check(report, "jwt.key-confusion") == []
    sent = app.config["seen_algs"].count("HS256")
    assert 1 <= sent <= 6  # it was tried: both PEM spellings, all refused


def test_without_active_nothing_forged_is_sent() -> None:
    app = rs_app(vulnerable=True)
    report = scan_app(app, only=ONLY)
    assert by_check(report, "jwt.key-confusion") == []
    assert "HS256" not in app.config["seen_algs"]
    assert "RS256" in app.config["seen_algs"]  # the alg-none probe did run
