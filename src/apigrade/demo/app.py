"""A deliberately misconfigured Flask app. Never deploy it; it exists to be scanned."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, jsonify, request, session

#: The mistakes on purpose: a tutorial key, readable session, debugger, exposed files.
DEMO_SECRET_KEY = "dev"


def create_app() -> Flask:
    """The app without the debugger middleware (for in-process scans)."""
    app = Flask(__name__, static_folder="static")
    app.config.update(
        SECRET_KEY=DEMO_SECRET_KEY,
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SAMESITE=None,
    )
    users = {
        1: {"id": 1, "email": "ada@example.com", "role": "admin", "password_hash": "pbkdf2:sha256:600000$demo$0f"},
        2: {"id": 2, "email": "bob@example.com", "role": "user", "password_hash": "pbkdf2:sha256:600000$demo$1a"},
    }

    @app.route("/")
    def index() -> Any:
        session["user_id"] = 1
        session["email"] = "ada@example.com"
        session["role"] = "admin"
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
        limit = int(request.args.get("limit", "10"))  # crashes on ?limit=abc
        return jsonify([{"id": i, "name": f"item {i}"} for i in range(limit)])

    @app.route("/api/users/<int:user_id>")
    def user(user_id: int) -> Any:
        if user_id not in users:
            abort(404)
        return jsonify(users[user_id])

    @app.route("/search")
    def search() -> Any:
        return jsonify({"q": request.args.get("q", "")})

    return app


def create_debug_app() -> Any:
    """The app behind Werkzeug's interactive debugger, as ``flask run --debug`` serves it."""
    from werkzeug.debug import DebuggedApplication

    app = create_app()
    app.debug = True
    return DebuggedApplication(app, evalex=True)
