"""Fixture apps with real login flows: a Flask-WTF form with a CSRF token, a JSON token
login (tokens that may expire after a few seconds), an OAuth2 token endpoint (client
credentials and password grants), and a bearer-token API for static and command tokens.

Each app has a flaw only an authenticated caller can reach (``/api/crash`` answers a
Python traceback that quotes the caller's credentials) and counts what it saw in
``app.config["SEEN"]`` (logins, requests per path, 401s).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections import Counter
from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template_string, request, session
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField

PASSWORD = "alice-Pa55word-xyz"
CLIENT_SECRET = "client-SECRET-4f9a2b7c"
STATIC_TOKEN = "static-TOKEN-8d7e6f5a4b"

_PAGE = (
    "<html><body><a href='/api/me'>me</a> <a href='/api/items'>items</a> "
    "<a href='/api/crash?q=1'>report</a> <a href='/api/admin/users'>admin</a> "
    "<a href='/account/delete'>delete my account</a> "
    "<a href='/logout'>log out</a></body></html>"
)
_TRACE = (
    'Traceback (most recent call last):\n  File "/srv/app/views.py", line 42, in report\n'
    "    raise RuntimeError(creds)\nRuntimeError: bad credentials {}\n"
)


def _base(name: str) -> tuple[Flask, Counter[str]]:
    app = Flask(name)
    seen: Counter[str] = Counter()
    app.config["SEEN"] = seen
    issued: list[str] = []
    app.config["ISSUED"] = issued  # every credential handed out (tokens, session cookies)

    inner = app.wsgi_app

    def recording(environ: Any, start_response: Any) -> Any:  # Set-Cookie after the session
        def start(status: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            for name, raw in headers:
                value = raw.split(";", 1)[0].partition("=")[2]
                if name.lower() == "set-cookie" and raw.startswith("session=") and value:
                    issued.append(value)
            return start_response(status, headers, *exc)

        return inner(environ, start)

    app.wsgi_app = recording  # type: ignore[method-assign]

    @app.before_request
    def count() -> None:
        seen["path " + request.path] += 1

    @app.route("/")
    def index() -> Any:
        return _PAGE

    @app.route("/account/delete")
    def delete_account() -> Any:
        if request.headers.get("Authorization") or request.cookies.get("session"):
            seen["deleted as a user"] += 1
        return redirect("/")

    @app.route("/logout")
    def logout() -> Any:
        if app.secret_key:
            session.clear()
        return redirect("/")

    return app, seen


def _protected(app: Flask, seen: Counter[str], who: Any, on_fail: Any) -> None:
    """``/api/me``, ``/api/items`` and ``/api/crash`` for a caller ``who()`` accepts."""

    def guard() -> Any:
        user = who()
        if user is None:
            seen["401"] += 1
            return None, on_fail()
        return user, None

    @app.route("/api/me")
    def me() -> Any:
        user, fail = guard()
        return fail or jsonify({"id": 1, "name": user})

    @app.route("/api/items")
    def items() -> Any:
        user, fail = guard()
        return fail or jsonify([{"id": 1, "owner": user, "title": "first"}])

    @app.route("/api/admin/users")
    def admin_users() -> Any:  # 401 for every caller (alice is no admin): not a logout
        seen["admin 401"] += 1
        return _unauthorised()

    @app.route("/api/crash")
    def crash() -> Any:
        user, fail = guard()
        creds = request.headers.get("Authorization", "") + " " + request.headers.get("Cookie", "")
        return fail or Response(_TRACE.format(creds), status=500, mimetype="text/plain")


def _unauthorised() -> Any:
    resp = jsonify({"error": "unauthorised"})
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return resp


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField("username")
    password = PasswordField("password")


def form_app() -> Flask:
    """Form login with Flask-WTF's CSRF token; the session is Flask's signed cookie.
    A logged-out caller is redirected to /login."""
    app, seen = _base("form_app")
    app.config["SECRET_KEY"] = "form-app-signing-key-123456"
    CSRFProtect(app)
    page = (
        "<form method='post' action='/login'>{{ form.csrf_token }}"
        "<input name='username'><input type='password' name='password'>"
        "<button type='submit'>Sign in</button></form>{{ msg }}"
    )

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        form = LoginForm()
        if form.validate_on_submit():
            if form.username.data == "alice" and form.password.data == PASSWORD:
                seen["logins"] += 1
                session["user"] = "alice"
                return redirect("/")
            return render_template_string(page, form=form, msg="wrong credentials")
        return render_template_string(page, form=form, msg="")

    _protected(app, seen, lambda: session.get("user"), lambda: redirect("/login"))
    return app


class Tokens:
    """Issued bearer tokens and their expiry."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.expiry: dict[str, float] = {}

    def issue(self, user: str) -> str:
        tok = f"{user}.{secrets.token_hex(16)}"
        self.expiry[tok] = time.monotonic() + self.ttl
        return tok

    def user(self) -> str | None:
        scheme, _, tok = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or self.expiry.get(tok, 0) < time.monotonic():
            return None
        return tok.partition(".")[0]


def json_app(ttl: float = 3600.0, *, revoke_on_logout: bool = True) -> Flask:
    """JSON login at /api/login: ``{"data": {"token": …}}``; tokens live ``ttl`` seconds
    (the response does not say so: the scanner notices the 401s). /logout revokes the
    caller's token unless ``revoke_on_logout`` is False (the flawed variant)."""
    app, seen = _base("json_app")
    tokens = Tokens(ttl)

    @app.before_request
    def revoke() -> None:
        if request.path == "/logout" and revoke_on_logout:
            tok = request.headers.get("Authorization", "").partition(" ")[2]
            tokens.expiry.pop(tok, None)

    @app.post("/api/login")
    def login() -> Any:
        body = request.get_json(silent=True) or {}
        if body.get("username") != "alice" or body.get("password") != PASSWORD:
            return jsonify({"error": "bad credentials"}), 401
        seen["logins"] += 1
        tok = tokens.issue("alice")
        app.config["ISSUED"].append(tok)
        return jsonify({"data": {"token": tok}})

    _protected(app, seen, tokens.user, _unauthorised)
    return app


def oauth_app(ttl: float = 3600.0) -> Flask:
    """An OAuth2 token endpoint (client credentials, password) at /oauth/token; the
    answer says ``expires_in``."""
    app, seen = _base("oauth_app")
    tokens = Tokens(ttl)

    @app.post("/oauth/token")
    def token() -> Any:
        raw = request.headers.get("Authorization", "").removeprefix("Basic ")
        cid, _, csecret = base64.b64decode(raw or "Og==").decode().partition(":")
        if cid != "scanner" or csecret != CLIENT_SECRET:
            return jsonify({"error": "invalid_client"}), 401
        grant = request.form.get("grant_type")
        if grant == "password" and request.form.get("password") != PASSWORD:
            return jsonify({"error": "invalid_grant"}), 400
        if grant not in ("client_credentials", "password"):
            return jsonify({"error": "unsupported_grant_type"}), 400
        seen["logins"] += 1
        tok = tokens.issue(request.form.get("username") or "svc")
        app.config["ISSUED"].append(tok)
        return jsonify({"access_token": tok, "token_type": "bearer", "expires_in": ttl})

    _protected(app, seen, tokens.user, _unauthorised)
    return app


def bearer_app() -> Flask:
    """Accepts one fixed bearer token (static headers, a command's token)."""
    app, seen = _base("bearer_app")

    def who() -> str | None:
        return "alice" if request.headers.get("Authorization") == f"Bearer {STATIC_TOKEN}" else None

    _protected(app, seen, who, _unauthorised)
    return app
