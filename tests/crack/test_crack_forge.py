"""Forged values verify with the real key in the real libraries."""

from __future__ import annotations

import hashlib
import hmac

import jwt
import pytest
from crack_helpers import flask_cookie, flask_serializer
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

from apigrade.crack import forge, mask_secret, parse_token
from apigrade.crack.tokens import SignedToken


def token_of(value: str, **kw: object) -> SignedToken:
    token = parse_token(value, **kw)  # type: ignore[arg-type]
    assert token is not None
    return token


@pytest.mark.parametrize("data", [{"user": "alice"}, {"big": "q" * 600}])
def test_flask_session_forged(data: dict[str, object]) -> None:
    token = token_of(flask_cookie("dev", data))
    ser = flask_serializer("dev")
    assert ser.loads(forge(token, "dev")) == data  # same payload, re-signed
    evil = forge(token, "dev", {"user": "admin", "role": "admin", "pad": "x" * 300})
    assert evil.startswith(".")  # compressed like Flask would
    assert ser.loads(evil, max_age=60)["role"] == "admin"
    with pytest.raises(ValueError):
        forge(token, "wrong key")


def test_flask_session_interface_accepts_forgery() -> None:
    from flask import Flask, session

    app = Flask("victim")
    app.secret_key = "changeme"

    @app.get("/me")
    def me() -> dict[str, object]:
        return {"user": session.get("user")}

    client = app.test_client()
    token = token_of(flask_cookie("changeme", {"user": "guest"}))
    client.set_cookie("session", forge(token, "changeme", {"user": "admin"}))
    assert client.get("/me").get_json() == {"user": "admin"}


def test_itsdangerous_other_salts_forged() -> None:
    timed = URLSafeTimedSerializer("k1", salt="email-confirm")
    token = token_of(timed.dumps("a@b.test"))
    assert timed.loads(forge(token, "k1", "root@b.test")) == "root@b.test"
    untimed = URLSafeSerializer("k2", salt="itsdangerous")
    token = token_of(untimed.dumps({"id": 1}))
    assert untimed.loads(forge(token, "k2", {"id": 2})) == {"id": 2}


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_jwt_forged(alg: str) -> None:
    key = "k" * 64
    token = token_of(jwt.encode({"sub": "user", "admin": False}, key, algorithm=alg))
    forged = forge(token, key, {"sub": "user", "admin": True})
    assert jwt.decode(forged, key, algorithms=[alg]) == {"sub": "user", "admin": True}
    assert jwt.decode(forge(token, key), key, algorithms=[alg])["admin"] is False


def test_django_forged() -> None:
    django = pytest.importorskip("django")
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY="django-insecure-tutorial", USE_TZ=True)
    django.setup()
    from django.core import signing

    key = settings.SECRET_KEY
    token = token_of(signing.dumps({"user": 1}, key=key, compress=True))
    assert signing.loads(forge(token, key, {"user": 2, "staff": True}), key=key) == {
        "user": 2, "staff": True}
    cookie = token_of(signing.get_cookie_signer(salt="theme").sign("dark"), name="theme")
    assert signing.get_cookie_signer(salt="theme").unsign(forge(cookie, key, "light")) == "light"


def test_flask_login_forged() -> None:
    token = token_of(f"5|{hmac.new(b'rk', b'5', hashlib.sha512).hexdigest()}")
    forged = forge(token, "rk", "1")
    assert forged == f"1|{hmac.new(b'rk', b'1', hashlib.sha512).hexdigest()}"
    pytest.importorskip("flask_login")
    from flask_login.utils import decode_cookie

    assert decode_cookie(forged, key=b"rk") == "1"


@pytest.mark.parametrize(
    ("secret", "masked"),
    [("dev", "d*v"), ("s", "*"), ("ab", "**"), ("", ""), ("super secret key", "s**************y")],
)
def test_mask_secret(secret: str, masked: str) -> None:
    assert mask_secret(secret) == masked
