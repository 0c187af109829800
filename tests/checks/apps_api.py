"""Test apps for the API Top 10 checks: inventory, authentication, BOLA, BFLA, properties.

Each factory builds a Flask (or FastAPI) app with the flaw on purpose, or its fixed twin
(``secure=True``). Imported by the ``test_api_*`` modules through a ``sys.path`` insert;
the scan helpers live here rather than in a ``conftest``.
"""

from __future__ import annotations

import io
import itertools
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, abort, jsonify, redirect, request
from werkzeug.security import generate_password_hash

from helpers_scan import by_check, mine, scan_app, scan_url  # noqa: F401 - re-exported for the tests

# -- helpers -------------------------------------------------------------------------






class Recorder:
    """WSGI middleware keeping (method, path, query, headers) of every request, and bodies."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str, dict[str, str]]] = []
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        headers = {k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items()
                   if k.startswith("HTTP_")}  # fmt: skip
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        with self._lock:
            if body:
                self.bodies.append(body)
            self.seen.append(
                (
                    environ["REQUEST_METHOD"],
                    environ["PATH_INFO"],
                    environ.get("QUERY_STRING", ""),
                    headers,
                )
            )
        return self.app(environ, start_response)


def page(*links: str, title: str = "API") -> str:
    anchors = " ".join(f'<a href="{u}">{u}</a>' for u in links)
    return f"<!doctype html><html><head><title>{title}</title></head><body>{anchors}</body></html>"


USERS: dict[int, dict[str, Any]] = {
    1: {"id": 1, "name": "Alice", "email": "alice@example.com"},
    2: {"id": 2, "name": "Bob", "email": "bob@example.com"},
    3: {"id": 3, "name": "Carol", "email": "carol@example.com"},
}
TOKENS = {"alice-token-0123456789": 1, "bob-token-9876543210": 2, "root-token-5555555555": 3}
ALICE = ("Authorization", "Bearer alice-token-0123456789")
BOB = ("Authorization", "Bearer bob-token-9876543210")
ROOT = ("Authorization", "Bearer root-token-5555555555")
ADMINS = {3}


def caller() -> dict[str, Any] | None:
    auth = request.headers.get("Authorization", "")
    uid = TOKENS.get(auth.removeprefix("Bearer ").strip())
    return USERS.get(uid) if uid else None


def refuse() -> Response:
    resp = jsonify(detail="Not authenticated")
    resp.status_code = 401
    resp.headers["WWW-Authenticate"] = "Bearer"
    return resp


def spec(paths: dict[str, Any], server: str | None = None, secured: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Test API", "version": "2.0"},
        "paths": paths,
    }
    if server:
        doc["servers"] = [{"url": server}]
    if secured:
        doc["components"] = {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
    return doc


def op(
    *, secured: bool | None = None, tags: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"responses": {"200": {"description": "ok"}}, **extra}
    if secured is not None:
        out["security"] = [{"bearer": []}] if secured else []
    if tags:
        out["tags"] = tags
    return out


ID_PARAM = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]

# -- inventory -------------------------------------------------------------------------

SWAGGER_UI = (
    "<!doctype html><html><head><title>Shop API docs</title>"
    '<link rel="stylesheet" href="/static/swagger-ui.css"></head><body><div id="swagger-ui"></div>'
    '<script src="/static/swagger-ui-bundle.js"></script>'
    '<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui"});</script>'
    "</body></html>"
)
INVENTORY_SPEC = spec(
    {
        "/users": {"get": op()},
        "/users/{id}": {"get": op(parameters=ID_PARAM)},
        "/items": {"get": op()},
        "/orders": {"get": op()},
        "/reports": {"get": op()},  # documented, never implemented
        "/internal/jobs": {"get": op()},
    },
    server="/api/v2",
)
FIXED_SPEC = spec(
    {
        "/users": {"get": op()},
        "/users/{id}": {"get": op(parameters=ID_PARAM)},
        "/items": {"get": op()},
        "/orders": {"get": op()},
        "/stats": {"get": op()},
    },
    server="/api/v2",
)
SCHEMA = {"data": {"__schema": {"types": [{"name": n} for n in
          ("Query", "User", "AdminMutation", "String", "__Schema", "__Type")]}}}  # fmt: skip
PROMETHEUS = (
    "# HELP http_requests_total Total HTTP requests.\n"
    "# TYPE http_requests_total counter\n"
    'http_requests_total{method="get",route="/api/v2/users"} 1027\n'
    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
    "# TYPE process_resident_memory_bytes gauge\n"
    "process_resident_memory_bytes 4.2e+07\n"
)


def inventory_app(secure: bool = False, graphql_post_only: bool = False) -> Flask:
    """v2 API with a spec, docs, GraphQL, debug/management endpoints and a forgotten v1."""
    app = Flask("inv_secure" if secure else "inv_vuln")

    @app.route("/")
    def index() -> Any:
        return page(
            "/api/v2/users", "/api/v2/items", "/api/v2/stats", "/api/v2/orders", title="Shop"
        )

    @app.route("/api/v2/users")
    def users() -> Any:
        return jsonify([{"id": u["id"], "name": u["name"]} for u in USERS.values()])

    @app.route("/api/v2/users/<int:uid>")
    def user(uid: int) -> Any:
        if uid not in USERS:
            return jsonify(detail="user not found"), 404
        return jsonify(id=uid, name=USERS[uid]["name"])

    @app.route("/api/v2/items")
    def items() -> Any:
        return jsonify([{"id": 1, "name": "widget"}, {"id": 2, "name": "gadget"}])

    @app.route("/api/v2/stats")
    def stats() -> Any:
        return jsonify(orders=12, revenue=340)

    @app.route("/api/v2/orders")
    def orders() -> Any:
        return jsonify([{"id": 7, "total": 30}]) if caller() else refuse()

    @app.route("/api/v1/<path:rest>")
    def v1(rest: str) -> Any:
        if secure:
            return jsonify(detail="API v1 was retired"), 410
        if rest == "items":
            return jsonify([{"id": 1, "name": "widget", "price_cents": 100}])
        if rest == "orders":  # v1 predates the auth check added in v2
            return jsonify([{"id": 7, "total": 30}, {"id": 8, "total": 12}])
        return jsonify(detail="not found"), 404

    @app.route("/graphql", methods=["GET", "POST"])
    def graphql() -> Any:
        if graphql_post_only and request.method == "GET":
            return jsonify(errors=[{"message": "GET is not supported"}]), 405
        query = request.args.get("query") or (request.get_json(silent=True) or {}).get("query", "")
        if "__schema" in query:
            if secure:
                return jsonify(errors=[{"message": "introspection is disabled"}]), 400
            return jsonify(SCHEMA)
        return jsonify(data={"ok": True})

    if secure:
        return app

    @app.route("/openapi.json")
    def openapi() -> Any:
        return jsonify(INVENTORY_SPEC)

    @app.route("/docs")
    def docs() -> Any:
        return SWAGGER_UI

    @app.route("/_debug")
    def debug() -> Any:
        env = {"PATH": "/usr/local/bin:/usr/bin", "HOME": "/home/app", "HOSTNAME": "web-1",
               "SECRET_KEY": "s3cr3t-do-not-leak"}  # fmt: skip
        return jsonify(environ=env, debug=True)

    @app.route("/actuator")
    def actuator() -> Any:
        base = request.host_url.rstrip("/")
        return jsonify(_links={"self": {"href": f"{base}/actuator", "templated": False},
                               "env": {"href": f"{base}/actuator/env", "templated": False}})  # fmt: skip

    @app.route("/actuator/env")
    def actuator_env() -> Any:
        return jsonify(activeProfiles=["prod"], propertySources=[
            {"name": "systemEnvironment", "properties": {"DB_PASSWORD": {"value": "******"}}}])  # fmt: skip

    @app.route("/metrics")
    def metrics() -> Any:
        return Response(PROMETHEUS, mimetype="text/plain")

    @app.route("/server-status")
    def server_status() -> Any:
        return (
            "<html><head><title>Apache Status</title></head><body><h1>Apache Server Status "
            "for shop.internal (via 10.0.0.5)</h1><dl><dt>Server uptime: 3 days</dt></dl></body></html>"
        )

    return app


def fastapi_app(docs: bool = True) -> Any:
    """A FastAPI app: built-in spec and docs, plus a route left out of the schema."""
    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    kw: dict[str, Any] = {} if docs else {"openapi_url": None, "docs_url": None, "redoc_url": None}
    api = FastAPI(title="Orders", **kw)

    @api.get("/", include_in_schema=False, response_class=HTMLResponse)
    def index() -> str:
        return page("/api/items", "/api/status", "/api/users/1")

    @api.get("/api/items")
    def list_items() -> list[dict[str, Any]]:
        return [{"id": 1, "name": "widget"}]

    @api.get("/api/users/{user_id}")
    def get_user(user_id: int) -> dict[str, Any]:
        from fastapi import HTTPException

        if user_id not in USERS:
            raise HTTPException(404, "user not found")
        return USERS[user_id]

    @api.get("/api/status", include_in_schema=False)
    def status() -> dict[str, Any]:
        return {"queue": 3, "workers": 2}

    return api


# -- authentication ----------------------------------------------------------------------

AUTH_SPEC = spec(
    {
        "/api/me": {"get": op(secured=True)},
        "/api/orders": {"get": op(secured=True)},
        "/api/health": {"get": op(secured=False)},
    },
    secured=True,
)


def auth_app(secure: bool = False) -> Flask:
    """Missing auth on secured routes, Basic over HTTP, tokens in URLs, echoed headers."""
    app = Flask("auth_secure" if secure else "auth_vuln")

    @app.route("/")
    def index() -> Any:
        export = "/api/export" if secure else "/api/export?token=exp0rt-t0ken-1234567"
        return page("/api/account", "/api/reports", "/login/callback", "/api/echo", export)

    @app.route("/openapi.json")
    def openapi() -> Any:
        return jsonify(AUTH_SPEC)

    @app.route("/api/me")
    def me() -> Any:
        user = caller()
        if user is None and secure:
            return refuse()
        return jsonify(user or USERS[1])  # "demo mode": the first user for everyone

    @app.route("/api/orders")
    def orders() -> Any:
        if secure and caller() is None:
            return refuse()
        return jsonify([{"id": 7, "total": 30, "owner": "alice@example.com"}])

    @app.route("/api/account")
    def account() -> Any:
        user = caller()
        if user is None and secure:
            return refuse()
        return jsonify({**(user or USERS[1]), "role": "user", "phone": "+1 555 0100"})

    @app.route("/api/health")
    def health() -> Any:
        return jsonify(status="ok")

    @app.route("/api/reports")
    def reports() -> Any:
        resp = jsonify(detail="authentication required")
        resp.status_code = 401
        resp.headers["WWW-Authenticate"] = "Bearer" if secure else 'Basic realm="reports"'
        return resp

    @app.route("/login/callback")
    def callback() -> Any:
        return redirect("/home" if secure else "/home?access_token=cb-access-t0ken-98765")

    @app.route("/home")
    def home() -> Any:
        return jsonify(welcome=True)

    @app.route("/api/export")
    def export() -> Any:
        return jsonify(rows=3)

    @app.route("/api/echo")
    def echo() -> Any:
        if secure:
            return jsonify(headers=sorted(request.headers.keys()))
        return jsonify(headers=dict(request.headers))

    return app


# -- BOLA ------------------------------------------------------------------------------


def bola_app(mode: str = "open") -> Flask:
    """``open``: anyone reads any user; ``authn``: any logged-in user does; ``secure``: own only."""
    app = Flask(f"bola_{mode}")

    @app.route("/")
    def index() -> Any:
        return page("/api/users/2", "/api/products/1", "/api/me")

    @app.route("/api/me")
    def me() -> Any:
        user = caller()
        return jsonify(user) if user else refuse()

    @app.route("/api/users/<int:uid>")
    def user(uid: int) -> Any:
        who = caller()
        if mode != "open" and who is None:
            return refuse()
        if uid not in USERS or (mode == "secure" and who is not None and who["id"] != uid):
            return jsonify(detail="not found"), 404
        return jsonify(USERS[uid])

    @app.route("/api/products/<int:pid>")
    def product(pid: int) -> Any:  # a public catalogue: ids enumerable, nobody's data
        if not 1 <= pid <= 5:
            return jsonify(detail="not found"), 404
        return jsonify(id=pid, name=f"product {pid}", price_cents=100 * pid)

    return app


# -- BFLA ------------------------------------------------------------------------------

BFLA_SPEC = spec(
    {
        "/api/admin/users": {"get": op(tags=["admin"])},
        "/api/admin/stats": {"get": op(tags=["admin"])},
        "/api/reports/revenue": {"get": op(tags=["Admin"])},
        "/api/items": {"get": op()},
    }
)


def bfla_app(secure: bool = False) -> Flask:
    """Admin routes: one open to anyone, one to any logged-in user, one tagged admin."""
    app = Flask("bfla_secure" if secure else "bfla_vuln")

    def admin_only() -> Response | None:
        who = caller()
        if who is None:
            return refuse()
        if who["id"] not in ADMINS:
            return Response(json.dumps({"detail": "forbidden"}), 403, mimetype="application/json")
        return None

    @app.route("/")
    def index() -> Any:
        return page("/api/items", title="Shop")

    @app.route("/openapi.json")
    def openapi() -> Any:
        return jsonify(BFLA_SPEC)

    @app.route("/api/items")
    def items() -> Any:
        return jsonify([{"id": 1, "name": "widget"}])

    @app.route("/api/admin/users")
    def admin_users() -> Any:
        if secure and (denied := admin_only()):
            return denied
        return jsonify([{"id": u["id"], "email": u["email"]} for u in USERS.values()])

    @app.route("/api/admin/stats")
    def admin_stats() -> Any:
        denied = admin_only() if secure else (refuse() if caller() is None else None)
        return denied or jsonify(signups=3, revenue=1200)

    @app.route("/api/reports/revenue")
    def revenue() -> Any:
        return admin_only() or jsonify(total=1200)

    return app


def tamper_app(secure: bool = False) -> Any:
    """Three guarded routes whose guards look at the wrong method or path (unless secure)."""
    app = Flask("tamper_secure" if secure else "tamper_vuln")

    @app.route("/")
    def index() -> Any:
        return page("/api/private/report", "/api/private/summary", "/api/private/export",
                    "/admin/panel")  # fmt: skip

    @app.before_request
    def guard_report() -> Any:
        if request.path == "/api/private/report" and caller() is None:
            if secure or request.method == "GET":  # the bug: only GET is checked
                return refuse()
        if request.path == "/api/private/summary" and caller() is None:
            if secure or request.method in ("GET", "HEAD"):  # the bug: OPTIONS is not
                return refuse()
        return None

    @app.route("/api/private/summary", methods=["GET", "OPTIONS"], provide_automatic_options=False)
    def summary() -> Any:
        return jsonify(revenue=1200, churn=0.02)

    @app.route("/api/private/report")
    def report() -> Any:
        return jsonify(revenue=1200, customers=3)

    @app.route("/api/private/export")
    def export() -> Any:
        if secure and caller() is None:
            return refuse()
        return jsonify(rows=[{"id": 1, "email": "alice@example.com"}])

    @app.route("/admin/panel")
    def panel() -> Any:
        if secure and caller() is None:
            return refuse()
        return jsonify(users=3, flags={"maintenance": False})

    if secure:
        return app
    return front_acl(method_override(app))


def method_override(inner: Any) -> Any:
    """Honour X-HTTP-Method-Override and X-Original-URL (inside the auth gate: the bug)."""

    def mw(environ: dict[str, Any], start_response: Any) -> Any:
        override = environ.get("HTTP_X_HTTP_METHOD_OVERRIDE")
        if override:
            environ["REQUEST_METHOD"] = override.upper()
        original = environ.get("HTTP_X_ORIGINAL_URL")
        if original:
            environ["PATH_INFO"] = original.split("?", 1)[0]
        return inner(environ, start_response)

    return mw


def front_acl(inner: Any) -> Any:
    """A gateway: /admin needs a token; /api/private/export too, except CORS preflights."""

    def mw(environ: dict[str, Any], start_response: Any) -> Any:
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        authed = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ") in TOKENS
        guarded = path.startswith("/admin") or (
            path == "/api/private/export" and method != "OPTIONS"
        )
        if guarded and not authed:
            start_response("403 Forbidden", [("Content-Type", "application/json")])
            return [b'{"detail": "forbidden by gateway"}']
        return inner(environ, start_response)

    return mw


# -- property authorisation ---------------------------------------------------------------

PROPS_SPEC = spec(
    {
        "/api/users": {"get": op()},
        "/api/users/{id}": {"get": op(parameters=ID_PARAM)},
        "/api/register": {
            "post": op(
                requestBody={
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["username", "email", "password"],
                                "properties": {
                                    "username": {"type": "string"},
                                    "email": {"type": "string"},
                                    "password": {"type": "string"},
                                },
                            }
                        }
                    }
                }
            )
        },
    }
)
PW_HASH = generate_password_hash("hunter2", method="pbkdf2:sha256:1000")


def props_app(secure: bool = False, echo_only: bool = False) -> Flask:
    """A user API that over-shares and binds every property on registration (unless secure)."""
    app = Flask("props_secure" if secure else "props_vuln")
    people: dict[int, dict[str, Any]] = {
        1: {"id": 1, "username": "alice", "email": "alice@example.com", "role": "user",
            "is_admin": False, "password_hash": PW_HASH, "api_key": "ak_live_0123456789abcdef",
            "card_number": "4111 1111 1111 1111", "internal_notes": "VIP, refund twice"},
        2: {"id": 2, "username": "bob", "email": "bob@example.com", "role": "user",
            "is_admin": False, "password_hash": PW_HASH, "api_key": "ak_live_fedcba9876543210",
            "card_number": "5500 0000 0000 0004", "internal_notes": ""},
    }  # fmt: skip
    ids = itertools.count(3)
    public = ("id", "username", "role")

    @app.route("/")
    def index() -> Any:
        return page("/api/users", "/api/users/1")

    @app.route("/openapi.json")
    def openapi() -> Any:
        return jsonify(PROPS_SPEC)

    @app.route("/api/users")
    def users() -> Any:
        if secure:
            return jsonify([{k: u[k] for k in public} for u in people.values()])
        return jsonify(users=list(people.values()))

    @app.route("/api/users/<int:uid>")
    def user(uid: int) -> Any:
        if uid not in people:
            abort(404)
        u = people[uid]
        return jsonify({k: u[k] for k in (public if secure else (*public, "is_admin"))})

    @app.route("/api/register", methods=["POST"])
    def register() -> Any:
        data = request.get_json(silent=True) or {}
        if echo_only:
            return jsonify(data)  # validates nothing, stores nothing
        uid = next(ids)
        user = {"id": uid, "role": "user", "is_admin": False}
        if secure:
            user.update({k: str(data.get(k, "")) for k in ("username", "email")})
        else:
            user.update(data)  # the bug: every property the client sends
        user.pop("password", None)
        people[uid] = user
        shown = public if secure else [k for k in user if k != "password_hash"]
        resp = jsonify({k: user[k] for k in shown})
        resp.status_code = 201
        resp.headers["Location"] = f"/api/users/{uid}"
        return resp

    return app


def extra_requests(app: Any, check_ids: list[str], **options: Any) -> int:
    """Requests the given checks add to a discovery-only scan of ``app``."""
    base = scan_app(app, only=[], **options).requests_sent
    return scan_app(app, only=check_ids, **options).requests_sent - base


#: every check id of the API Top 10 checks (inventory, auth, bola, bfla, properties)
INVENTORY = [
    "inventory.openapi-spec", "inventory.api-docs-ui", "inventory.graphql-introspection",
    "inventory.old-api-version", "inventory.old-api-version-unprotected",
    "inventory.spec-endpoint-missing", "inventory.undocumented-endpoint",
    "inventory.debug-endpoint", "inventory.actuator-env", "inventory.actuator",
    "inventory.server-status", "inventory.metrics", "inventory.admin-interface",
]  # fmt: skip
AUTH = [
    "auth.missing-authentication", "auth.token-in-url", "auth.basic-over-http",
    "auth.credentials-echoed",
]  # fmt: skip
BOLA = ["bola.object-id-enumerable", "bola.cross-identity"]
BFLA = ["bfla.admin-function", "bfla.method-tampering"]
PROPS = ["props.excessive-data-exposure", "props.mass-assignment"]
ALL = [*INVENTORY, *AUTH, *BOLA, *BFLA, *PROPS]
