"""authentication.default-credentials: documented default logins, tried with --active only.

Every app here is a real Flask app scanned in-process or on 127.0.0.1 (the ``serve`` fixture).
"""

from __future__ import annotations

import secrets
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, abort, redirect, request, session
from werkzeug.wrappers import Response

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from apigrade import knowledge  # noqa: E402
from apigrade.checks.authentication.default_credentials import (  # noqa: E402
    MAX_ATTEMPTS,
    Form,
    parse_login_forms,
)
from apigrade.redact import mask  # noqa: E402
from helpers_scan import by_check, scan_app, scan_url  # noqa: E402

CHECK = "authentication.default-credentials"
PAIRS = list(dict.fromkeys((c.username, c.password) for c in knowledge.default_credentials(CHECK)))

FORM = """<!doctype html><title>Sign in</title>
<form method="post" action="/login">
  <input type="hidden" name="csrf_token" value="{csrf}">
  <input type="text" name="username"> <input type="password" name="password">
  <input type="checkbox" name="remember"> <button type="submit">Sign in</button>
</form><p>{message}</p>"""


def login_app(user: str = "admin", password: str = "admin") -> Flask:
    """A form login with a CSRF token kept in the session, and a JSON login."""
    app = Flask("default_creds")
    app.secret_key = secrets.token_hex(16)
    app.config["posts"] = []  # (path, username, password, csrf ok)

    @app.get("/")
    def index() -> str:
        return '<a href="/login">Sign in</a> <a href="/about">About</a>'

    @app.get("/about")
    def about() -> str:
        return "about us"

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str | Response:
        if request.method == "GET":
            session.setdefault("csrf", secrets.token_hex(16))
            return FORM.format(csrf=session["csrf"], message="")
        ok = bool(session.get("csrf")) and request.form.get("csrf_token") == session.get("csrf")
        given = (request.form.get("username"), request.form.get("password"))
        app.config["posts"].append(("/login", *given, ok))
        if not ok:
            abort(400)
        if given == (user, password):
            session["user"] = user
            return redirect("/dashboard")
        return FORM.format(csrf=session["csrf"], message="Invalid username or password")

    @app.post("/api/login")
    def api_login() -> tuple[dict[str, str], int]:
        data = request.get_json(silent=True) or {}
        given = (data.get("username"), data.get("password"))
        app.config["posts"].append(("/api/login", *given, True))
        if given == (user, password):
            return {"token": secrets.token_urlsafe(24)}, 200
        return {"error": "invalid credentials"}, 401

    @app.get("/dashboard")
    def dashboard() -> str:
        return "welcome" if session.get("user") else redirect("/login")  # type: ignore[return-value]

    return app


def catch_all_app() -> Flask:
    """200 and the same page for every method and path, a form with a password field too."""
    app = Flask("catch_all")
    app.config["posts"] = []
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]

    @app.route("/", defaults={"path": ""}, methods=methods)
    @app.route("/<path:path>", methods=methods)
    def anything(path: str) -> str:
        if request.method == "POST":
            app.config["posts"].append(("/" + path,))
        return FORM.format(csrf="fixed", message="")

    return app


def always_ok_app() -> Flask:
    """Login endpoints that answer 200 whatever is sent (the rest is an honest 404), so
    only the comparison with the wrong password's answer can tell: nothing differs."""
    app = Flask("always_ok")
    app.config["posts"] = []

    @app.get("/")
    def index() -> str:
        return '<a href="/login">Sign in</a>'

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str:
        if request.method == "POST":
            app.config["posts"].append(("/login", request.form.get("username"),
                                        request.form.get("password"), True))  # fmt: skip
        return FORM.format(csrf="fixed", message="")

    @app.post("/api/login")
    def api_login() -> dict[str, str]:
        data = request.get_json(silent=True) or {}
        app.config["posts"].append(("/api/login", data.get("username"), data.get("password")))
        return {"status": "ok", "message": "request received"}

    return app


def posts(app: Flask, path: str) -> list[tuple[object, ...]]:
    return [p for p in app.config["posts"] if p[0] == path]


def test_the_table_is_valid_and_bounded() -> None:
    rows = knowledge.default_credentials(CHECK)
    assert rows and all(r.reference.startswith("https://") and r.product for r in rows)
    assert ("admin", "admin") in PAIRS and len(PAIRS) <= MAX_ATTEMPTS


@pytest.mark.parametrize("way", ["inproc", "socket"])
def test_admin_admin_is_found_on_the_form_and_the_json_login(
    way: str, serve: Callable[..., str]
) -> None:
    app = login_app()
    report = scan_app(app, only=[CHECK], active=True) if way == "inproc" else (
        scan_url(serve(app), only=[CHECK], active=True)
    )  # fmt: skip
    found = {f.url.split("/", 3)[3]: f for f in by_check(report, CHECK)}
    assert set(found) == {"login", "api/login"}, report.findings
    form, api = found["login"], found["api/login"]
    assert form.severity == "critical" and form.cwe == 1391 and form.owasp == "API2:2023"
    assert "redirects to /dashboard" in form.evidence and "session cookie session" in form.evidence
    assert "answers with token" in api.evidence and "a wrong password got 401" in api.evidence
    assert f"'admin' / {mask('admin')!r}" in form.evidence and "Grafana" in form.evidence
    # the CSRF token and the session cookie were sent back: no POST was refused as forged
    assert posts(app, "/login") and all(p[3] for p in posts(app, "/login"))
    # control, the first pair (accepted: stop), a second wrong password: three POSTs each
    for path in ("/login", "/api/login"):
        tried = posts(app, path)
        assert len(tried) == 3 and tried[1][1:3] == ("admin", "admin")
        assert tried[0][2] != "admin" and tried[2][1:3] != ("admin", "admin")


def test_the_password_is_masked_and_later_pairs_are_reached() -> None:
    app = login_app("elastic", "changeme")
    [hit] = [f for f in by_check(scan_app(app, only=[CHECK], active=True), CHECK)
             if f.url.endswith("/api/login")]  # fmt: skip
    assert "changeme" not in hit.evidence and mask("changeme") in hit.evidence
    assert "'elastic'" in hit.evidence
    index = PAIRS.index(("elastic", "changeme"))
    assert len(posts(app, "/api/login")) == 1 + (index + 1) + 1


def test_a_strong_password_is_not_reported_and_attempts_are_bounded() -> None:
    app = login_app("admin", "c0rrect-h0rse-battery-staple")
    report = scan_app(app, only=[CHECK], active=True)
    assert by_check(report, CHECK) == []
    for path in ("/login", "/api/login"):
        tried = posts(app, path)
        assert 1 < len(tried) <= 1 + MAX_ATTEMPTS
        assert [p[1:3] for p in tried[1:]] == PAIRS[:MAX_ATTEMPTS]
    assert all(p[3] for p in posts(app, "/login"))


def test_a_catch_all_answering_200_is_not_reported(serve: Callable[..., str]) -> None:
    app = catch_all_app()
    for report in (
        scan_app(app, only=[CHECK], active=True),
        scan_url(serve(app), only=[CHECK], active=True),
    ):
        assert by_check(report, CHECK) == []


def test_login_endpoints_answering_200_to_anything_are_not_reported() -> None:
    app = always_ok_app()
    assert by_check(scan_app(app, only=[CHECK], active=True), CHECK) == []
    for path in ("/login", "/api/login"):  # every pair was tried and compared, none stood out
        assert len(posts(app, path)) == 1 + len(PAIRS)


def test_default_mode_sends_no_post() -> None:
    app = login_app()
    assert by_check(scan_app(app, only=[CHECK]), CHECK) == []
    assert app.config["posts"] == []


def test_login_forms_keep_hidden_fields_and_skip_other_forms() -> None:
    page = "http://127.0.0.1/account/"
    text = (
        FORM.format(csrf="tok123", message="")
        + '<form method="get" action="/search"><input name="q"><input type="password" name="p"></form>'
        + '<form method="post" action="signup"><input name="email">'
        + '<input type="password" name="password"><input type="password" name="confirm"></form>'
        + '<form method="post"><input name="email"><input type="password" name="pw"></form>'
    )
    assert parse_login_forms(page, text) == [
        Form("http://127.0.0.1/login", "username", "password", (("csrf_token", "tok123"),)),
        Form(page, "email", "pw", ()),
    ]
    assert parse_login_forms(page, "<form method=post><input type=password name=p") == []


# -- the table: strict, and a new row needs no code change ------------------------------------
@pytest.fixture
def table_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    copy = tmp_path / "data"
    shutil.copytree(knowledge.DATA_DIR, copy)
    monkeypatch.setattr(knowledge, "DATA_DIR", copy)
    knowledge.clear()
    yield copy / "default_credentials.toml"
    knowledge.clear()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('password = "admin"', 'password = "admin"\npasword = "x"'),
            r"#1 \(Grafana\): pasword: Extra",
        ),
        (('used_by = ["authentication', 'used_by = ["auth'), r"credential #1 \(Grafana\): used_by"),
        (('reference = "https://grafana', 'reference = "http://grafana'), r"reference"),
    ],
)
def test_a_bad_row_is_rejected_naming_it(
    table_copy: Path, change: tuple[str, str], message: str
) -> None:
    table_copy.write_text(table_copy.read_text().replace(*change, 1))
    with pytest.raises(knowledge.KnowledgeError, match=message):
        knowledge.default_credentials(CHECK)


def test_a_new_row_is_tried_without_a_code_change(table_copy: Path) -> None:
    table_copy.write_text(
        '[[credential]]\nproduct = "Acme Console"\nusername = "acme"\npassword = "acme-1234"\n'
        'reference = "https://acme.example/docs/first-login"\n'
        'used_by = ["authentication.default-credentials"]\n'
    )
    app = login_app("acme", "acme-1234")
    found = by_check(scan_app(app, only=[CHECK], active=True), CHECK)
    assert sorted(urlsplit(f.url).path for f in found) == ["/api/login", "/login"]
    assert all("Acme Console" in f.evidence and "acme-1234" not in f.evidence for f in found)


# -- a JSON login operation of the spec ---------------------------------------------------------
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/v2/session": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "login": {"type": "string"},
                                    "passwd": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}


def test_a_json_login_operation_of_the_spec_is_tried() -> None:
    app = Flask("spec_login")
    app.config["posts"] = []

    @app.get("/openapi.json")
    def spec() -> dict[str, object]:
        return SPEC

    @app.post("/v2/session")
    def session_login() -> tuple[dict[str, str], int]:
        data = request.get_json(silent=True) or {}
        app.config["posts"].append(("/v2/session", data.get("login"), data.get("passwd")))
        if (data.get("login"), data.get("passwd")) == ("guest", "guest"):
            return {"access_token": secrets.token_urlsafe(24)}, 200
        return {"error": "bad login"}, 403

    [hit] = by_check(scan_app(app, only=[CHECK], active=True), CHECK)
    assert hit.url.endswith("/v2/session") and hit.parameter == "passwd"
    assert "answers with access_token" in hit.evidence and "RabbitMQ" in hit.evidence
