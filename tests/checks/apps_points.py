"""Flask apps whose input arrives where parameters are not: cookies, headers, unusual names.

Each flawed app has a fixed twin written the documented way (parameterised SQL, an allow-list
of redirect targets) that must stay clean.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, redirect, request


def _db() -> sqlite3.Connection:
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE prefs (tracking TEXT, theme TEXT)")
    con.execute("INSERT INTO prefs VALUES ('a1b2c3', 'dark')")
    con.execute("CREATE TABLE visits (agent TEXT)")
    return con


def cookie_sqli_app(*, fixed: bool = False) -> Flask:
    """A tracking cookie looked up with string-built SQL; the error text shows in the 500.

    ``fixed``: a parameterised query (``?`` placeholders), the same pages otherwise.
    """
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        tracking = request.cookies.get("TrackingId", "a1b2c3")
        con = _db()
        try:
            if fixed:
                row = con.execute("SELECT theme FROM prefs WHERE tracking = ?", (tracking,))
            else:
                row = con.execute(f"SELECT theme FROM prefs WHERE tracking = '{tracking}'")
            theme = (row.fetchone() or ("light",))[0]
        except sqlite3.Error as exc:
            return Response(f"Internal error: sqlite3.OperationalError: {exc}", 500,
                            mimetype="text/plain")  # fmt: skip
        finally:
            con.close()
        resp = Response(f"<html><body class='{theme}'><a href='/about'>about</a></body></html>")
        resp.set_cookie("TrackingId", "a1b2c3", httponly=True, samesite="Lax")
        return resp

    @app.route("/about")
    def about() -> Any:
        return "<p>about</p>"

    return app


def header_sqli_app(*, fixed: bool = False) -> Flask:
    """Each visit's User-Agent is recorded with string-built SQL (``fixed``: parameterised)."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        agent = request.headers.get("User-Agent", "")
        con = _db()
        try:
            if fixed:
                con.execute("INSERT INTO visits VALUES (?)", (agent,))
            else:
                con.execute(f"INSERT INTO visits VALUES ('{agent}')")
        except sqlite3.Error as exc:
            return {"error": f"sqlite3.OperationalError: {exc}"}, 500
        finally:
            con.close()
        return "<html><body><a href='/about'>about</a></body></html>"

    @app.route("/about")
    def about() -> Any:
        return "<p>about</p>"

    return app


def redirect_app(*, fixed: bool = False) -> Flask:
    """``/leave?to=`` redirects wherever it is told (a name no list of redirect names has);
    ``fixed``: only paths on this site."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return '<a href="/leave?to=/about">about</a>'

    @app.route("/leave")
    def leave() -> Any:
        to = request.args.get("to", "/")
        if fixed and (urlsplit(to).netloc or not to.startswith("/") or to.startswith("//")):
            to = "/"
        if fixed and "\\" in to:
            to = "/"
        return redirect(to)

    @app.route("/about")
    def about() -> Any:
        return "<p>about</p>"

    return app
