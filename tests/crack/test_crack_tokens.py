"""Recognising and decoding signed cookies and tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
import time
from datetime import UTC, datetime

import jwt
import pytest
from crack_helpers import flask_cookie
from itsdangerous import TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

from apigrade.crack import TokenKind, looks_like_pickle, parse_token, split_cookie, verify_key
from apigrade.crack.tokens import LEGACY_EPOCH, b62_decode, b62_encode


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_flask_session_plain() -> None:
    cookie = flask_cookie("dev", {"user": "admin", "n": 1})
    token = parse_token(cookie)
    assert token is not None
    assert token.kind is TokenKind.ITSDANGEROUS
    assert token.label == "Flask session cookie"
    assert token.payload == {"user": "admin", "n": 1}
    assert not token.compressed and not token.legacy_epoch
    assert token.timestamp is not None
    assert abs(token.timestamp.timestamp() - time.time()) < 60
    assert [s.salt for s in token.schemes] == ["cookie-session"]
    assert verify_key(token, "dev") is not None
    assert verify_key(token, "nope") is None


def test_flask_session_compressed() -> None:
    cookie = flask_cookie("dev", {"blob": "x" * 500})
    assert cookie.startswith(".")
    token = parse_token(cookie)
    assert token is not None and token.compressed
    assert token.payload == {"blob": "x" * 500}
    assert verify_key(token, "dev") is not None


def test_legacy_epoch_timestamp() -> None:
    """itsdangerous < 1.0 counted from 2011-01-01; such a timestamp decodes to the right date."""
    signed_at = 1_500_000_000

    class OldSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return signed_at - LEGACY_EPOCH

    ser = URLSafeTimedSerializer("k", salt="cookie-session", signer=OldSigner,
                                 signer_kwargs={"key_derivation": "hmac"})
    token = parse_token(str(ser.dumps({"a": 1})))
    assert token is not None and token.legacy_epoch
    assert token.timestamp == datetime.fromtimestamp(signed_at, UTC)
    assert verify_key(token, "k") is not None


def test_untimed_itsdangerous_and_unknown_salt() -> None:
    value = URLSafeSerializer("s3", salt="email-confirm").dumps(["x", 1])
    token = parse_token(value)
    assert token is not None and token.timestamp is None
    assert token.payload == ["x", 1]
    scheme = verify_key(token, "s3")
    assert scheme is not None and scheme.salt == "email-confirm"
    assert len(token.schemes) > 10  # unknown purpose: the common salts are tried


def test_explicit_salt_tries_both_derivations() -> None:
    value = URLSafeTimedSerializer("k", salt="my-salt").dumps("hello")
    token = parse_token(value, salts=["my-salt"])
    assert token is not None
    assert [s.derivation for s in token.schemes] == ["hmac", "concat"]
    assert verify_key(token, "k") is not None


def test_flask_wtf_csrf_token() -> None:
    raw = hashlib.sha1(b"r").hexdigest()
    value = URLSafeTimedSerializer("wtf-key", salt="wtf-csrf-token").dumps(raw)
    token = parse_token(value)
    assert token is not None and token.label == "Flask-WTF CSRF token"
    assert verify_key(token, "wtf-key") is not None


def test_flask_wtf_real() -> None:
    pytest.importorskip("flask_wtf")
    from flask import Flask
    from flask_wtf.csrf import generate_csrf

    app = Flask("wtf")
    app.secret_key = "wtf-secret"
    with app.test_request_context():
        value = generate_csrf()
    token = parse_token(value)
    assert token is not None and token.label == "Flask-WTF CSRF token"
    assert verify_key(token, "wtf-secret") is not None


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_jwt(alg: str) -> None:
    value = jwt.encode({"sub": "1", "admin": False}, "secret" * 11, algorithm=alg)
    token = parse_token(value)
    assert token is not None and token.kind is TokenKind.JWT
    assert token.algorithm == alg and token.header == {"alg": alg, "typ": "JWT"}
    assert token.payload == {"sub": "1", "admin": False}
    assert verify_key(token, "secret" * 11) is not None


def test_jwt_not_hmac_is_not_crackable() -> None:
    header = b64(json.dumps({"alg": "none"}).encode())
    assert parse_token(f"{header}.{b64(b'{}')}.") is None


def _django_sig(key_salt: bytes, secret: bytes, value: bytes, digest: str) -> str:
    """Django's salted_hmac, written out by hand from its documented construction."""
    derived = hashlib.new(digest, key_salt + secret).digest()
    return b64(hmac.new(derived, value, digest).digest())


@pytest.mark.parametrize("digest", ["sha256", "sha1"])
def test_django_dumps_hand_vector(digest: str) -> None:
    body = b64(json.dumps({"u": 7}, separators=(",", ":")).encode())
    signed = f"{body}:{b62_encode(1_700_000_000)}"
    sig = _django_sig(b"django.core.signingsigner", b"s3kr1t", signed.encode(), digest)
    token = parse_token(f"{signed}:{sig}")
    assert token is not None and token.kind is TokenKind.DJANGO
    assert token.algorithm == digest
    assert token.payload == {"u": 7}
    assert token.timestamp == datetime.fromtimestamp(1_700_000_000, UTC)
    scheme = verify_key(token, "s3kr1t")
    assert scheme is not None and scheme.salt == "django.core.signing"


def test_django_signed_cookie_uses_cookie_name() -> None:
    sig = _django_sig(b"prefssignerdjango.http.cookies", b"k", b"dark:1abc", "sha256")
    token = parse_token(f"dark:1abc:{sig}", name="prefs")
    assert token is not None and token.payload == "dark"
    assert verify_key(token, "k") is not None
    assert verify_key(parse_token(f"dark:1abc:{sig}"), "k") is None  # type: ignore[arg-type]


def test_base62_roundtrip() -> None:
    for n in (0, 1, 61, 62, 1_700_000_000):
        assert b62_decode(b62_encode(n)) == n


def test_flask_login_hand_vector() -> None:
    digest = hmac.new(b"login-key", b"42", hashlib.sha512).hexdigest()
    token = parse_token(f"42|{digest}")
    assert token is not None and token.kind is TokenKind.FLASK_LOGIN
    assert token.payload == "42"
    assert verify_key(token, "login-key") is not None
    quoted = parse_token(f"42%7C{digest}")
    assert quoted is not None and verify_key(quoted, "login-key") is not None


def test_flask_login_real() -> None:
    pytest.importorskip("flask_login")
    from flask_login.utils import encode_cookie

    token = parse_token(encode_cookie("7", key=b"remember-me"))
    assert token is not None and verify_key(token, "remember-me") is not None


@pytest.mark.parametrize(
    "value",
    ["", "hello", "a.b", "a.b.c", "not a token at all", "x" * 20000, "abc:def", "|" + "0" * 127],
)
def test_unrecognised(value: str) -> None:
    assert parse_token(value) is None


def test_pickle_detection() -> None:
    for proto in (2, 3, 4, 5):
        raw = pickle.dumps({"a": 1}, protocol=proto)
        assert looks_like_pickle(raw)
        assert looks_like_pickle(base64.b64encode(raw).decode())
        assert looks_like_pickle(b64(raw))
    assert base64.b64encode(pickle.dumps({"k": "v" * 9}, protocol=4)).startswith(b"gAS")
    assert looks_like_pickle(base64.b64encode(pickle.dumps(1, protocol=4)))  # "gAR..."
    assert not looks_like_pickle("eyJhIjoxfQ")
    assert not looks_like_pickle(b"\x80")
    assert not looks_like_pickle("gAZ" + "A" * 10)


def test_pickled_payload_flagged() -> None:
    ser = URLSafeTimedSerializer("k", salt="cookie-session", serializer=pickle,
                                 signer_kwargs={"key_derivation": "hmac"})
    value = ser.dumps({"a": 1})
    token = parse_token(value.decode() if isinstance(value, bytes) else value)
    assert token is not None and token.pickled
    assert verify_key(token, "k") is not None


def test_split_cookie() -> None:
    assert split_cookie("session=abc.def; Path=/; HttpOnly") == ("session", "abc.def")
    assert split_cookie("Cookie: sessionid=x:y:z") == ("sessionid", "x:y:z")
    assert split_cookie("abc.def.ghi") == (None, "abc.def.ghi")
    assert split_cookie('"quoted.value"') == (None, "quoted.value")
