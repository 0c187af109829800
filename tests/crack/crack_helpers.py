"""Helpers shared by the crack tests: cookies made by the real Flask session interface."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


def flask_serializer(secret: str | bytes) -> URLSafeTimedSerializer:
    """Flask's own session serializer for ``secret`` (Flask 2.x and 3.x use the same one)."""
    app = Flask("crack-tests")
    app.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    return serializer


def flask_cookie(secret: str | bytes, data: dict[str, Any] | None = None) -> str:
    """A Flask session cookie value, as Flask would set it."""
    return str(flask_serializer(secret).dumps(data or {"user": "alice", "role": "user"}))

