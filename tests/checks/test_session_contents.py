"""Readable Flask session contents (CWE 315) and pickle cookies (CWE 502)."""

from __future__ import annotations

import base64
import pickle
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, make_response, session

from apigrade.checks.data_exposure.session_contents import classify, sensitive_fields
from conftest import by_check

ONLY = ["session.readable-contents"]


def session_app(contents: dict[str, Any], secret: str = "x" * 32) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret

    @app.route("/")
    def index() -> Any:
        session.update(contents)
        return '<title>shop</title><a href="/api/items">items</a>'

    @app.route("/api/items")
    def items() -> Any:
        return jsonify(items=[])

    return app


def test_classify_field_names() -> None:
    assert classify("email") == classify("is_admin") == classify("role") == "personal"
    assert classify("password") == classify("api_key") == classify("access_token") == "secret"
    assert classify("user_id") == classify("_user_id") == classify("username") == "id"
    assert classify("_fresh") is classify("csrf_token") is classify("_id") is classify("n") is None
    data = {"user": {"email": "a@b.co", "id": 7}, "cart": [1, 2], "roles": ["admin", "x"]}
    fields = list(sensitive_fields(data))
    assert [(f.path, f.value, f.kind) for f in fields] == [
        ("user.email", "a****o", "personal"),
        ("user.id", "*", "id"),  # values of one or two characters are masked whole
        ("roles", "a******x", "personal"),  # a list of scalars is one value
    ]
    assert classify("scope") is classify("is_active") is None


def test_sensitive_session_contents(scan_both: Callable[..., Any]) -> None:
    app = session_app({"email": "alice@example.com", "role": "admin", "user_id": 42})
    for report in scan_both(app, only=ONLY):
        (f,) = by_check(report, "session.readable-contents")
        assert (f.severity, f.cwe, f.category, f.parameter) == (
            "medium",
            315,
            "data-exposure",
            "session",
        )
        assert "email=a" in f.evidence and "role=a***n" in f.evidence and "user_id" in f.evidence
        assert "alice@example.com" not in report.model_dump_json()
        assert "Flask-Session" in f.remediation


def test_ids_only_is_low_and_compressed_payload_is_read(scan_both: Callable[..., Any]) -> None:
    # a long, repetitive value makes Flask zlib-compress the payload ("." prefix)
    app = session_app({"_user_id": "42", "cart": ["widget"] * 200})
    for report in scan_both(app, only=ONLY):
        (f,) = by_check(report, "session.readable-contents")
        assert f.severity == "low" and "_user_id=**" in f.evidence


def test_bookkeeping_only_session_has_no_finding(scan_both: Callable[..., Any]) -> None:
    app = session_app({"_fresh": True, "csrf_token": "0" * 40, "_id": "f" * 128})
    for report in scan_both(app, only=ONLY):
        assert by_check(report, "session.readable-contents") == []
        assert by_check(report, "session.pickle-cookie") == []


def pickle_app(signed: bool = False) -> Flask:
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        data = base64.urlsafe_b64encode(pickle.dumps({"user": "alice", "cart": [1, 2]}))
        resp = make_response("<title>legacy</title>")
        resp.set_cookie("prefs", data.decode(), httponly=True, samesite="Lax")
        return resp

    return app


def test_pickle_cookie(scan_both: Callable[..., Any]) -> None:
    for report in scan_both(pickle_app(), only=ONLY):
        (f,) = by_check(report, "session.pickle-cookie")
        assert (f.severity, f.confidence, f.cwe, f.parameter) == ("critical", "firm", 502, "prefs")
        assert f.category == "input-validation"
        assert report.score < 40
