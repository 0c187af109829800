"""A catch-all single-page app: 200 and the same page for every path and query."""

from __future__ import annotations

from typing import Any

from flask import Flask

PAGE = (
    "<!doctype html><html><head><title>Shop</title></head>"
    '<body><div id="root"></div><script src="/static/app.js"></script></body></html>'
)


def create_app() -> Flask:
    app = Flask(__name__, static_folder=None)

    @app.after_request
    def harden(resp: Any) -> Any:
        resp.headers["Content-Security-Policy"] = "default-src 'self'"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["X-Frame-Options"] = "DENY"
        return resp

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def spa(path: str) -> Any:
        return PAGE

    return app


app = create_app()
