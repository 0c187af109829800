"""Route enumeration from the app object: Flask, Starlette/FastAPI, Django; filling values."""

from __future__ import annotations

import asyncio
import uuid

from flask import Blueprint, Flask
from greyapps import django_app, grey_fastapi, grey_flask

from apigrade.inprocess import identify
from apigrade.inprocess.routes import (
    MAX_ROUTES,
    PathParam,
    candidates,
    expand,
    query_params,
    route_table,
    seen_values,
)


def _by_template(app: object) -> dict[str, object]:
    return {r.template: r for r in route_table(app).routes}


def test_flask_blueprints_converters_and_methods() -> None:
    app = Flask(__name__)
    bp = Blueprint("files", __name__, url_prefix="/v2")

    @bp.route("/docs/<path:name>", methods=["GET", "PUT"])
    def doc(name: str) -> str:
        return name

    @bp.get("/kinds/<any(alpha, beta):kind>/<float:ratio>")
    def kind(kind: str, ratio: float) -> str:
        return kind

    app.register_blueprint(bp)

    @app.get("/orders/<int(min=10):order_id>/<uuid:ref>")
    def order(order_id: int, ref: uuid.UUID) -> str:
        return "x"

    table = route_table(app)
    routes = {r.template: r for r in table.routes}
    assert set(routes) == {
        "/v2/docs/{name}",
        "/v2/kinds/{kind}/{ratio}",
        "/orders/{order_id}/{ref}",
    }  # fmt: skip  (static is files on disk)
    assert routes["/v2/docs/{name}"].methods == ("GET", "PUT")
    params = {p.name: p for p in routes["/orders/{order_id}/{ref}"].params}
    assert params["order_id"] == PathParam("order_id", "integer", ("10",))
    assert params["ref"].examples == ("3fa85f64-5717-4562-b3fc-2c963f66afa6",)
    filled = table.fill(routes["/v2/kinds/{kind}/{ratio}"])
    assert filled == {"kind": "alpha", "ratio": "1.0"}
    path = expand("/orders/{order_id}/{ref}", table.fill(routes["/orders/{order_id}/{ref}"]))
    assert table.match(path) is routes["/orders/{order_id}/{ref}"]
    assert table.match("/orders/abc/x") is None
    assert routes["/v2/docs/{name}"].handler is doc


def test_flask_fixture_values_seen_in_the_scan_come_first() -> None:
    table = route_table(grey_flask.create_app("flawed"))
    user = next(r for r in table.routes if r.template == "/internal/users/{user_id}")
    assert table.fill(user, {"id": ["42", "x"]}) == {"user_id": "42"}
    assert table.fill(user, {"user_id": ["not-a-number"], "id": ["7"]}) == {"user_id": "7"}
    assert table.fill(user) == {"user_id": "1"}
    preview = next(r for r in table.routes if r.template == "/internal/preview")
    assert preview.query == ("tpl",)  # read from the handler's source


def test_starlette_mounts_fastapi_routers_and_own_openapi() -> None:
    app = grey_fastapi.create_app("flawed")
    table = route_table(app)
    routes = {r.template: r for r in table.routes}
    assert {"/api/v1/items", "/api/v1/items/{item_id}", "/admin/users/{user_id}",
            "/legacy/debug/env", "/"} <= set(routes)  # fmt: skip
    [item_id] = routes["/api/v1/items/{item_id}"].params
    assert item_id.type == "integer"  # from the endpoint's annotation
    assert table.match("/legacy/debug/env") is routes["/legacy/debug/env"]
    assert table.match("/api/v1/items/3") is routes["/api/v1/items/{item_id}"]
    assert len(table.openapi) == 1 and '"/api/v1/items/{item_id}"' in table.openapi[0][0]
    assert "/admin/users" not in table.openapi[0][0]  # include_in_schema=False: routes only


def test_starlette_convertors() -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    inner = [
        Route("/files/{rest:path}", ok),
        Route("/ids/{key:uuid}", ok, methods=["GET", "DELETE"]),
    ]
    app = Starlette(routes=[Route("/n/{n:int}", ok), Mount("/m", routes=inner)])
    routes = _by_template(app)
    assert set(routes) == {"/n/{n}", "/m/files/{rest}", "/m/ids/{key}"}
    assert routes["/m/ids/{key}"].methods == ("DELETE", "GET")  # type: ignore[attr-defined]
    assert identify(app).kind == "starlette"


def test_django_urlconf_include_converters_and_regex() -> None:
    with django_app("flawed") as app:
        assert identify(app).kind == "django"
        table = route_table(app)
        routes = {r.template: r for r in table.routes}
        assert set(routes) == {"/", "/api/items/", "/api/items/{pk}/", "/api/categories/{slug}/",
                               "/internal/users/{pk}/", "/internal/exports/{export_id}/"}  # fmt: skip
        users = routes["/internal/users/{pk}/"]
        assert [(p.name, p.type) for p in users.params] == [("pk", "integer")]  # type: ignore[attr-defined]
        exports = routes["/internal/exports/{export_id}/"]
        assert table.fill(exports) == {"export_id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}  # type: ignore[arg-type]
        assert table.match("/api/categories/a-b/") is routes["/api/categories/{slug}/"]
        assert table.match("/internal/users/x/") is None


def test_unknown_app_and_broken_router_give_no_routes() -> None:
    def wsgi(environ: object, start_response: object) -> list[bytes]:
        return [b""]

    assert route_table(wsgi).routes == []
    assert identify(wsgi).kind == "unknown"
    app = Flask(__name__)
    for i in range(MAX_ROUTES + 20):
        app.add_url_rule(f"/r{i}", f"r{i}", lambda: "x")
    assert len(route_table(app).routes) == MAX_ROUTES


def test_seen_values_and_candidates() -> None:
    seen = seen_values(['{"items": [{"id": 3, "name": "widget"}, {"id": 4}]}', "not json",
                        '{"user": {"id": "u-9", "password": true}}'])  # fmt: skip
    assert seen["id"] == ["3", "4", "u-9"]
    assert seen["item_id"] == ["3", "4"]
    assert seen["user_id"] == ["u-9"]
    assert "password" not in seen  # booleans are not values
    assert candidates(PathParam("item_id", "integer", ("1",)), seen) == ["3", "4", "u-9", "1"]
    assert candidates(PathParam("pk", "integer", ("1",)), seen)[:3] == ["3", "4", "u-9"]


def test_query_params_from_handler_source() -> None:
    def view(request: object) -> object:
        a = request.args.get("q")  # type: ignore[attr-defined]
        b = request.GET["page"]  # type: ignore[attr-defined]
        c = request.query_params.get("sort", "asc")  # type: ignore[attr-defined]
        d = request.headers.get("X-Not-A-Query")  # type: ignore[attr-defined]
        return (a, b, c, d)

    assert query_params(view) == ("q", "page", "sort")
    assert query_params(len) == ()  # a builtin has no source


def test_enumerated_routes_are_discovery_endpoints_and_count_in_the_budget() -> None:
    from apigrade.engine.checkset import CheckSet, DiscoverySettings
    from apigrade.engine.scanner import build_scan
    from apigrade.scan_options import ScanOptions

    app = grey_flask.create_app("flawed")

    def discover(app_routes: bool) -> tuple[list[str], int, object]:
        scan = build_scan(app, ScanOptions(), checks=CheckSet(()),
                          discovery=DiscoverySettings(grey_box=app_routes))  # fmt: skip
        report = asyncio.run(scan.run())
        return (
            [e.url for e in scan.state.endpoints if e.source == "app"],
            report.requests_sent,
            report.discovery,
        )

    urls, sent, disc = discover(True)
    assert "http://testserver/internal/users/{user_id}" in urls
    assert "http://testserver/internal/preview" in urls
    assert disc.app_routes == 6 and disc.discovered == 2  # type: ignore[attr-defined]
    none, sent_without, disc_without = discover(False)
    assert none == [] and disc_without.app_routes is None  # type: ignore[attr-defined]
    assert sent - sent_without >= 4  # each unlinked readable route was fetched once


def test_flask_class_based_views_point_at_the_class() -> None:
    from flask.views import MethodView
    from greyapps import ROOT

    from apigrade.inprocess.locations import Locator

    class Orders(MethodView):
        def get(self, order_id: int) -> str:
            return str(request_args_probe(order_id))

    app = Flask(__name__)
    app.add_url_rule("/orders/<int:order_id>", view_func=Orders.as_view("orders"))
    [route] = route_table(app).routes
    assert route.handler is Orders
    where = Locator(ROOT).of_callable(route.handler)
    assert where is not None and where.path == "tests/inprocess/test_routes.py"
    assert "class Orders" in (ROOT / where.path).read_text().splitlines()[where.line - 1]


def request_args_probe(value: int) -> int:
    return value


def test_django_class_based_view_methods() -> None:
    from django.views import View

    from apigrade.inprocess.routes import _django_methods

    class Things(View):
        def get(self, request: object) -> None: ...

        def post(self, request: object) -> None: ...

    assert _django_methods(Things.as_view()) == ("GET", "POST")

    def viewset() -> None: ...

    viewset.actions = {"get": "list", "post": "create"}  # type: ignore[attr-defined]
    assert _django_methods(viewset) == ("GET", "POST")
    assert _django_methods(lambda request: None) == ("GET",)


def test_a_logout_route_is_an_endpoint_but_never_fetched() -> None:
    from apigrade.engine.checkset import CheckSet, DiscoverySettings
    from apigrade.engine.scanner import build_scan
    from apigrade.scan_options import ScanOptions

    hits: list[str] = []
    app = Flask(__name__)

    @app.get("/account/logout")
    def logout() -> str:
        hits.append("logout")
        return "bye"

    @app.get("/account/profile")
    def profile() -> str:
        hits.append("profile")
        return "me"

    scan = build_scan(
        app, ScanOptions(), checks=CheckSet(()), discovery=DiscoverySettings(grey_box=True)
    )
    asyncio.run(scan.run())
    urls = {e.url for e in scan.state.endpoints if e.source == "app"}
    assert "http://testserver/account/logout" in urls
    assert hits == ["profile"]


def test_ids_from_an_unlinked_listing_fill_the_item_route() -> None:
    """Stage 1 fetches /api/v1/items (linked from nowhere); its ids fill /api/v1/items/{item_id}."""
    from apigrade.engine.checkset import CheckSet, DiscoverySettings
    from apigrade.engine.scanner import build_scan
    from apigrade.scan_options import ScanOptions

    app = grey_fastapi.create_app("flawed")
    scan = build_scan(
        app, ScanOptions(), checks=CheckSet(()), discovery=DiscoverySettings(grey_box=True)
    )
    asyncio.run(scan.run())
    item = next(e for e in scan.state.endpoints
                if e.url == "http://testserver/api/v1/items/{item_id}")  # fmt: skip
    assert [(p.name, p.example) for p in item.params if p.location == "path"] == [("item_id", "5")]
    fetched = {ex.url for ex in scan.state.exchanges}
    assert "http://testserver/api/v1/items/5" in fetched
