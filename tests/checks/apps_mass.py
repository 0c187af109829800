"""Flask apps for mass assignment found without a spec (issue 15, capability 7).

``accounts_app()`` binds every property the client sends: the JSON collection
``/api/accounts`` creates accounts with ``account.__dict__.update(request.json)`` and
answers only the new id (the read-back of ``Location`` shows what was stored), and the
HTML settings form updates the current user with ``setattr`` for every form field.
``accounts_app(fixed=True)`` binds through pydantic input models that ignore unknown
fields (``extra="ignore"``), or refuse them (``extra="forbid"``, 422) for the form.
``echo_catch_all_app()`` answers 200 to everything and echoes writes.
"""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask, jsonify, redirect, request
from pydantic import BaseModel, ConfigDict, ValidationError


class Account:
    def __init__(self, aid: int, name: str = "", email: str = "") -> None:
        self.id = aid
        self.name = name
        self.email = email
        self.plan = "free"
        self.balance = 0
        self.is_admin = False
        self.verified = False

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


class AccountIn(BaseModel):
    """The allow list: what a client may set when creating an account."""

    model_config = ConfigDict(extra="ignore")
    name: str = ""
    email: str = ""


class SettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    email: str = ""


SETTINGS_FORM = (
    "<!doctype html><html><head><title>Settings</title></head><body>"
    '<form method="post" action="/settings"><input name="name" value="ada">'
    '<input name="email" type="email" value="ada@example.com">'
    '<button type="submit">Save</button></form>'
    '<a href="/api/accounts">accounts</a> <a href="/api/me">me</a></body></html>'
)


ACCOUNT_BODY = {
    "content": {"application/json": {"schema": {"type": "object", "properties": {
        "name": {"type": "string"}, "email": {"type": "string"}}}}}
}  # fmt: skip
UPDATE_SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "accounts", "version": "1"},
    "paths": {
        "/api/accounts": {"get": {"responses": {"200": {"description": "list"}}},
                          "post": {"requestBody": ACCOUNT_BODY,
                                   "responses": {"201": {"description": "created"}}}},
        "/api/accounts/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "get": {"responses": {"200": {"description": "one"}}},
            "patch": {"requestBody": ACCOUNT_BODY, "responses": {"200": {"description": "ok"}}},
        },
    },
}  # fmt: skip


def accounts_app(fixed: bool = False, update_only: bool = False) -> Flask:
    """``update_only``: creation is allow-listed, but PATCH binds every property (and an
    OpenAPI document describes both, so the update route is known over a socket too)."""
    app = Flask("mass_fixed" if fixed else "mass_update" if update_only else "mass_flawed")
    ids = itertools.count(3)
    accounts = {1: Account(1, "ada", "ada@example.com"), 2: Account(2, "bob", "bob@example.com")}
    me = accounts[1]
    me_extra: dict[str, Any] = {"role": "user"}

    @app.route("/")
    def index() -> Any:
        return SETTINGS_FORM

    @app.route("/api/accounts")
    def list_accounts() -> Any:
        return jsonify([a.to_json() for a in accounts.values()])

    @app.route("/api/accounts/<int:aid>")
    def get_account(aid: int) -> Any:
        if aid not in accounts:
            return jsonify(error="not found"), 404
        return jsonify(accounts[aid].to_json())

    @app.route("/api/accounts", methods=["POST"])
    def create_account() -> Any:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            return jsonify(error="JSON object expected"), 400
        acc = Account(next(ids))
        if fixed or update_only:
            acc.__dict__.update(AccountIn.model_validate(data).model_dump())
        else:
            acc.__dict__.update(data)  # the bug: every property the client sends
        accounts[acc.id] = acc
        return jsonify(id=acc.id), 201, {"Location": f"/api/accounts/{acc.id}"}

    @app.route("/api/accounts/<int:aid>", methods=["PATCH"])
    def update_account(aid: int) -> Any:
        acc, data = accounts.get(aid), request.get_json(silent=True)
        if acc is None or not isinstance(data, dict):
            return jsonify(error="not found"), 404
        if fixed:
            acc.__dict__.update(AccountIn.model_validate(data).model_dump(exclude_unset=True))
        else:
            acc.__dict__.update(data)  # the bug, on update
        return jsonify(acc.to_json())

    if update_only:

        @app.route("/openapi.json")
        def openapi() -> Any:
            return jsonify(UPDATE_SPEC)

    @app.route("/api/me")
    def get_me() -> Any:
        return jsonify({**me.to_json(), **me_extra})

    @app.route("/settings", methods=["POST"])
    def settings() -> Any:
        form = request.form.to_dict()
        if fixed:
            try:
                clean = SettingsIn.model_validate(form)
            except ValidationError:
                return jsonify(error="unknown fields"), 422
            me.name, me.email = clean.name, clean.email
        else:
            for key, value in form.items():  # the bug: setattr for every form field
                if hasattr(me, key):
                    setattr(me, key, value)
                else:
                    me_extra[key] = value
        return redirect("/api/me", code=303)

    return app


def echo_catch_all_app() -> Flask:
    """200 for every path: GET answers a list of records, writes echo the request."""
    app = Flask("mass_catch_all")

    @app.route("/", defaults={"p": ""}, methods=["GET", "POST", "PUT", "PATCH"])
    @app.route("/<path:p>", methods=["GET", "POST", "PUT", "PATCH"])
    def anything(p: str) -> Any:
        if request.method == "GET":
            return jsonify([{"id": 1, "name": "a", "is_admin": False, "plan": "free"},
                            {"id": 2, "name": "b", "is_admin": False, "plan": "free"}])  # fmt: skip
        data = request.get_json(silent=True) or request.form.to_dict()
        return jsonify({"id": 7, **data}), 201

    return app
