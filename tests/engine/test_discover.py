"""Discovery I/O: crawl, forms, scripts, robots.txt, sitemaps, OpenAPI; never off scope."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from flask import Flask, Response, jsonify, request

from apigrade.engine.scanner import Scan, ScanOptions
from apigrade.engine.target import Target
from apigrade.engine.transports import WSGIAppTransport

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/api/orders/{order_id}": {
            "get": {
                "parameters": [
                    {"name": "order_id", "in": "path", "required": True,
                     "schema": {"type": "integer"}},
                ],
                "security": [{"bearer": []}],
            }
        },
        "/api/search": {
            "get": {"parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}]}
        },
    },
}  # fmt: skip


def site(seen: list[str]) -> Flask:
    app = Flask(__name__)

    @app.before_request
    def record() -> None:
        seen.append(request.full_path)

    @app.route("/")
    def index() -> Any:
        return (
            "<html><head><title>Shop Portal</title><script src='/static/app.js'></script></head>"
            "<body><a href='/products?page=2'>p</a> <a href='http://example.com/off'>off</a>"
            "<a href='//example.org/x'>off2</a>"
            "<form action='/login' method='post'><input name='user'><input type='password' "
            "name='pw'></form></body></html>"
        )

    @app.route("/products")
    def products() -> Any:
        return "<html><a href='/products/7'>seven</a></html>"

    @app.route("/products/<int:pid>")
    def product(pid: int) -> Any:
        return f"<html>product {pid}</html>"

    @app.route("/static/app.js")
    def js() -> Any:
        return Response("fetch('/api/cart/items'); const u = \"/api/v2/profile\";",
                        mimetype="application/javascript")  # fmt: skip

    @app.route("/robots.txt")
    def robots() -> Any:
        return Response("User-agent: *\nDisallow: /internal/\nSitemap: /sitemap.xml\n",
                        mimetype="text/plain")  # fmt: skip

    @app.route("/sitemap.xml")
    def sitemap() -> Any:
        return Response(
            "<urlset><url><loc>http://testserver/about</loc></url>"
            "<url><loc>http://evil.example/x</loc></url></urlset>",
            mimetype="application/xml",
        )

    @app.route("/openapi.json")
    def spec() -> Any:
        return jsonify(SPEC)

    return app


def discover(app: Flask, **opts: Any) -> Scan:
    scan = Scan(
        Target.parse("http://testserver/"), ScanOptions(only=[], **opts), WSGIAppTransport(app)
    )
    asyncio.run(scan.run())
    return scan


def test_discovery_finds_every_source_and_stays_in_scope() -> None:
    seen: list[str] = []
    scan = discover(site(seen))
    eps = {(e.method, e.url): e for e in scan.state.endpoints}
    urls = {u for _, u in eps}
    assert "http://testserver/products" in urls
    assert "http://testserver/products/7" in urls
    assert ("POST", "http://testserver/login") in eps
    assert {p.name for p in eps[("POST", "http://testserver/login")].params} == {"user", "pw"}
    assert "http://testserver/api/cart/items" in urls  # from the script
    assert "http://testserver/internal/" in urls  # robots.txt
    assert "http://testserver/about" in urls  # sitemap
    spec_ep = eps[("GET", "http://testserver/api/orders/{order_id}")]
    assert spec_ep.source == "openapi" and spec_ep.secured is True
    assert all(u.startswith("http://testserver/") for u in urls)
    assert "Shop Portal" in scan.state.kb.words
    # The login form was discovered but never submitted without --active.
    assert not any(p.startswith("/login") for p in seen)


def test_spec_file_option(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC))
    app = Flask(__name__)
    scan = discover(app, spec=str(path))
    assert any(e.url.endswith("/api/search") for e in scan.state.endpoints)


def test_spec_that_is_not_openapi_is_a_usage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from apigrade.errors import UsageError

    path = tmp_path / "spec.json"
    path.write_text('{"hello": "world"}')
    with pytest.raises(UsageError):
        discover(Flask(__name__), spec=str(path))


def test_crawl_over_socket_never_leaves_the_origin(serve) -> None:  # type: ignore[no-untyped-def]
    from apigrade.engine.scanner import scan_sync

    seen: list[str] = []
    url = serve(site(seen))
    report = scan_sync(url, only=[])
    assert report.requests_sent == len(seen)
    assert any(p.startswith("/products/7") for p in seen)
