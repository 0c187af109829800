"""A well-configured Flask API: what apigrade should grade A with nothing above low."""

from __future__ import annotations

import os
import secrets
from typing import Any

from flask import Flask, jsonify, session


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=False,  # served on loopback over HTTP in tests
        DEBUG=False,
    )

    @app.after_request
    def harden(resp: Any) -> Any:
        resp.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Referrer-Policy"] = "no-referrer"
        return resp

    @app.route("/")
    def index() -> Any:
        session["n"] = session.get("n", 0) + 1
        return (
            "<!doctype html><title>Inventory</title>"
            '<a href="/api/items?page=1">items</a> <a href="/api/health">health</a>'
        )

    @app.route("/api/items")
    def items() -> Any:
        return jsonify(items=[{"id": 1, "name": "widget"}])

    @app.route("/api/health")
    def health() -> Any:
        return jsonify(status="ok")

    return app


app = create_app()
