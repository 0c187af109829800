"""Flask APIs that take a JWT in unusual places: X-Access-Token, a bare Authorization
header, a query parameter. Flawed: a guessable HS256 key and signatures never verified
(alg none accepted). Fixed: a strong random key, HS256 only, a short expiry."""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt
from flask import Flask, jsonify, request

WEAK_KEY = "secret"
PLACES = ("x-access-token", "bare-authorization", "query")


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "7", "name": "guest", "iat": now, "exp": now + 900}


def token_app(place: str, flawed: bool) -> Flask:
    """One API, its token issued and read in one ``place``:

    - ``x-access-token``: ``GET /api/login`` answers ``{"access_token": ...}`` (a JSON
      field); ``/api/me`` reads the ``X-Access-Token`` header;
    - ``bare-authorization``: ``GET /api/session`` sends the token in an ``X-Auth-Token``
      response header; ``/api/me`` reads ``Authorization`` with no ``Bearer`` prefix;
    - ``query``: the landing page links to ``/api/me?token=...``, which reads ``?token=``.
    """
    assert place in PLACES
    app = Flask(__name__)
    key = WEAK_KEY if flawed else secrets.token_hex(32)
    token = jwt.encode(_claims(), key, algorithm="HS256")

    def presented() -> str:
        if place == "x-access-token":
            return request.headers.get("X-Access-Token", "")
        if place == "bare-authorization":
            return request.headers.get("Authorization", "")
        return request.args.get("token", "")

    def verify(value: str) -> dict[str, Any] | None:
        try:
            if flawed:  # the classic bug: claims read, signature never checked
                return dict(jwt.decode(value, options={"verify_signature": False}))
            return dict(jwt.decode(value, key, algorithms=["HS256"]))
        except jwt.PyJWTError:
            return None

    @app.route("/")
    def index() -> Any:
        links = ['<a href="/api/me">me</a>']
        if place == "x-access-token":
            links.append('<a href="/api/login">login</a>')
        elif place == "bare-authorization":
            links.append('<a href="/api/session">session</a>')
        else:
            links.append(f'<a href="/api/me?token={token}">my page</a>')
        return "<title>Tokens</title>" + " ".join(links)

    def login() -> Any:
        return jsonify(access_token=token, token_type="access")

    def session() -> Any:
        resp = jsonify(status="ok")
        resp.headers["X-Auth-Token"] = token
        return resp

    if place == "x-access-token":
        app.add_url_rule("/api/login", view_func=login)
    elif place == "bare-authorization":
        app.add_url_rule("/api/session", view_func=session)

    @app.route("/api/me")
    def me() -> Any:
        value = presented()
        if not value:
            return jsonify(message="Token is missing!"), 401
        claims = verify(value)
        if claims is None:
            return jsonify(message="Token is invalid!"), 401
        return jsonify(user=claims.get("name"), id=claims.get("sub"))

    return app


def issued_token(app: Flask) -> str:
    """The token the app hands out (for scans given it by the user)."""
    client = app.test_client()
    if "/api/login" in {r.rule for r in app.url_map.iter_rules()}:
        return str(client.get("/api/login").get_json()["access_token"])
    return str(client.get("/api/session").headers["X-Auth-Token"])
