"""A shop API with two users and an administrator (static bearer tokens), for the
identity-aware checks: BOLA by listing, BFLA by role, property-level authorisation.

``shop_app(fixed=False)`` plants three flaws:
- GET /api/orders/<id> answers any logged-in user (no owner check);
- GET /api/admin/users and /api/reports/payroll (operationId ``adminPayrollReport``)
  answer any logged-in user (no role check);
- GET /api/users shows every user's password_hash, ssn, email and salary to any user.
``shop_app(fixed=True)`` checks owners and roles and filters fields by role: an
administrator still sees e-mail and salary, users only ids and user names.
``json_catch_all()`` answers 200 with the same JSON listing to every request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, jsonify, request

ALICE = ("Authorization", "Bearer shop-alice-7f3a9c2e51")
BOB = ("Authorization", "Bearer shop-bob-4d8e1b6a09")
ADMIN = ("Authorization", "Bearer shop-admin-c2b7e94f13")
IDENTITIES: dict[str, Any] = {"alice": [ALICE], "bob": [BOB], "admin": [ADMIN]}
SECRETS = ("shop-alice-7f3a9c2e51", "shop-bob-4d8e1b6a09", "shop-admin-c2b7e94f13")
_TOKENS = {v.split()[-1]: uid for (_h, v), uid in ((ALICE, 1), (BOB, 2), (ADMIN, 3))}

_PEOPLE: dict[int, dict[str, Any]] = {
    1: {"id": 1, "username": "alice", "email": "alice@shop.test", "role": "user",
        "ssn": "123-45-6789", "salary": 52000,
        "password_hash": "pbkdf2:sha256:600000$Qz1$" + "a1" * 32},
    2: {"id": 2, "username": "bob", "email": "bob@shop.test", "role": "user",
        "ssn": "987-65-4321", "salary": 48000,
        "password_hash": "pbkdf2:sha256:600000$Xy9$" + "b2" * 32},
    3: {"id": 3, "username": "admin", "email": "admin@shop.test", "role": "admin",
        "ssn": "555-12-3456", "salary": 91000,
        "password_hash": "pbkdf2:sha256:600000$Mn4$" + "c3" * 32},
}  # fmt: skip
_ORDERS = {
    1: {"id": 1, "owner": 1, "item": "kettle", "total": 39.9},
    2: {"id": 2, "owner": 1, "item": "teapot", "total": 24.5},
    3: {"id": 3, "owner": 2, "item": "mug", "total": 9.0},
}
_PUBLIC = ("id", "username")
_ADMIN_VIEW = ("id", "username", "email", "role", "salary")

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "shop", "version": "1"},
    "paths": {
        "/api/me": {"get": {"responses": {"200": {"description": "me"}}}},
        "/api/orders": {
            "get": {"responses": {"200": {"description": "my orders"}}},
            "post": {
                "requestBody": {"content": {"application/json": {"schema": {
                    "type": "object", "required": ["item"],
                    "properties": {"item": {"type": "string", "example": "kettle"}},
                }}}},
                "responses": {"201": {"description": "created"}},
            },
        },
        "/api/orders/{order_id}": {
            "get": {
                "parameters": [{"name": "order_id", "in": "path", "required": True,
                                "schema": {"type": "integer"}, "example": 1}],
                "responses": {"200": {"description": "one order"}},
            }
        },
        "/api/users": {"get": {"responses": {"200": {"description": "users"}}}},
        "/api/reports/payroll": {
            "get": {"operationId": "adminPayrollReport",
                    "responses": {"200": {"description": "payroll totals"}}}
        },
        "/api/admin/users": {
            "get": {"tags": ["admin"], "responses": {"200": {"description": "all users"}}}
        },
    },
}  # fmt: skip


def _order_view(o: dict[str, Any]) -> dict[str, Any]:
    return {k: o[k] for k in ("id", "item", "total")}


def shop_app(fixed: bool = False, empty: bool = False) -> Flask:
    """``empty``: nobody has orders yet (only creating one shows the flaw, --active)."""
    app = Flask("shop_fixed" if fixed else "shop_flawed")
    orders_db = {} if empty else {k: dict(v) for k, v in _ORDERS.items()}

    def caller() -> dict[str, Any]:
        auth = request.headers.get("Authorization", "")
        uid = _TOKENS.get(auth.removeprefix("Bearer ").strip())
        if uid is None:
            abort(401)
        return _PEOPLE[uid]

    @app.route("/")
    def index() -> Any:
        return '<a href="/openapi.json">API</a> <a href="/api/orders">orders</a>'

    @app.route("/openapi.json")
    def openapi() -> Any:
        return jsonify(SPEC)

    @app.route("/api/me")
    def me() -> Any:
        return jsonify({k: caller()[k] for k in ("id", "username", "email")})

    @app.route("/api/orders", methods=["GET", "POST"])
    def orders() -> Any:
        uid = caller()["id"]
        if request.method == "POST":
            data = request.get_json(silent=True) or {}
            oid = max(orders_db, default=0) + 1
            orders_db[oid] = {"id": oid, "owner": uid, "item": str(data.get("item", "")),
                              "total": 0.0}  # fmt: skip
            return jsonify(_order_view(orders_db[oid])), 201
        return jsonify(orders=[_order_view(o) for o in orders_db.values() if o["owner"] == uid])

    @app.route("/api/orders/<int:oid>")
    def order(oid: int) -> Any:
        who = caller()
        o = orders_db.get(oid)
        if o is None or (fixed and o["owner"] != who["id"] and who["role"] != "admin"):
            abort(404)
        return jsonify(_order_view(o))

    @app.route("/api/users")
    def users() -> Any:
        who = caller()
        if not fixed:
            return jsonify(list(_PEOPLE.values()))
        shown = _ADMIN_VIEW if who["role"] == "admin" else _PUBLIC
        return jsonify([{k: p[k] for k in shown} for p in _PEOPLE.values()])

    @app.route("/api/reports/payroll")
    def payroll() -> Any:
        who = caller()
        if fixed and who["role"] != "admin":
            abort(403)
        return jsonify(employees=len(_PEOPLE), total=sum(p["salary"] for p in _PEOPLE.values()))

    @app.route("/api/admin/users")
    def admin_users() -> Any:
        who = caller()
        if fixed and who["role"] != "admin":
            abort(403)
        return jsonify(users=[{k: p[k] for k in _ADMIN_VIEW} for p in _PEOPLE.values()])

    return app


def json_catch_all() -> Flask:
    """200 and the same JSON listing of people for every path, with or without a token."""
    app = Flask("identity_catch_all")
    listing = [{"id": p["id"], "email": p["email"], "ssn": p["ssn"]} for p in _PEOPLE.values()]

    @app.route("/", defaults={"path": ""})
    @app.route("/<path:path>")
    def anything(path: str) -> Any:
        return jsonify(listing)

    return app
