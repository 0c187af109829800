"""The demo app (apigrade.demo.app) with its mistakes fixed, for ``verify`` tests and bench.

Same routes and links as the demo, so that a scan sees the same site:

* no Werkzeug debugger (served plainly, not through ``DebuggedApplication``);
* a random 32-byte ``SECRET_KEY`` instead of the tutorial key ``"dev"``;
* session cookie HttpOnly and SameSite=Lax, holding a counter only;
* no static folder (``.env`` and ``config.py`` are no longer downloadable);
* ``/api/items`` validates ``limit``; ``/api/users/<id>`` needs a token and hides hashes;
* CSP, X-Content-Type-Options and X-Frame-Options on every response.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from flask import Flask, abort, jsonify, request, session

API_TOKEN = secrets.token_urlsafe(24)


def create_fixed_app() -> Flask:
    """The fixed demo app."""
    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        DEBUG=False,
    )
    users = {
        1: {"id": 1, "name": "Ada"},
        2: {"id": 2, "name": "Bob"},
    }

    @app.after_request
    def harden(resp: Any) -> Any:
        resp.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        return resp

    @app.route("/")
    def index() -> Any:
        session["visits"] = int(session.get("visits", 0)) + 1
        return (
            "<!doctype html><html><head><title>Demo Shop API</title></head><body>"
            "<h1>Demo Shop API</h1>"
            '<a href="/api/items?limit=10">items</a> '
            '<a href="/api/users/1">user 1</a> '
            '<form action="/search" method="get"><input name="q"></form>'
            "</body></html>"
        )

    @app.route("/api/items")
    def items() -> Any:
        raw = request.args.get("limit", "10")
        if not raw.isdigit() or not 0 < int(raw) <= 100:
            return jsonify(error="limit must be 1-100"), 400
        return jsonify([{"id": i, "name": f"item {i}"} for i in range(int(raw))])

    @app.route("/api/users/<int:user_id>")
    def user(user_id: int) -> Any:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), API_TOKEN.encode()):
            return jsonify(error="authentication required"), 401
        if user_id not in users:
            abort(404)
        return jsonify(users[user_id])

    @app.route("/search")
    def search() -> Any:
        return jsonify({"q": request.args.get("q", "")})

    return app
