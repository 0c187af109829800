"""A 20-endpoint JSON API with an OpenAPI 3 document, for the spec-driven scan benchmark.

Usage: python target_api.py PORT   (serves on 127.0.0.1 until killed)
It counts the requests it receives; GET /__bench_count answers the count (not in the spec).
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from flask import Flask, abort, jsonify, request

RESOURCES = ("users", "orders", "products", "invoices", "tickets")


def create_app() -> Flask:
    app = Flask(__name__)
    count = [0]
    lock = threading.Lock()
    paths: dict[str, Any] = {}

    @app.before_request
    def counter() -> None:
        if request.path != "/__bench_count":
            with lock:
                count[0] += 1

    @app.route("/__bench_count")
    def bench_count() -> Any:
        return jsonify(count=count[0])

    for name in RESOURCES:
        def listing(name: str = name) -> Any:
            limit = min(int(request.args.get("limit", "10") or 10), 50)
            return jsonify([{"id": i, "name": f"{name} {i}"} for i in range(limit)])

        def item(item_id: int, name: str = name) -> Any:
            if item_id > 100:
                abort(404)
            return jsonify({"id": item_id, "name": f"{name} {item_id}"})

        def search(name: str = name) -> Any:
            return jsonify({"q": request.args.get("q", ""), "results": []})

        def stats(name: str = name) -> Any:
            return jsonify({"count": 100})

        app.add_url_rule(f"/api/v2/{name}", f"{name}_list", listing)
        app.add_url_rule(f"/api/v2/{name}/<int:item_id>", f"{name}_item", item)
        app.add_url_rule(f"/api/v2/{name}/search", f"{name}_search", search)
        app.add_url_rule(f"/api/v2/{name}/stats", f"{name}_stats", stats)
        int_param = {"name": "limit", "in": "query", "schema": {"type": "integer"}}
        paths[f"/{name}"] = {"get": {"parameters": [int_param], "responses": {"200": {"description": "ok"}}}}
        paths[f"/{name}/{{item_id}}"] = {"get": {"parameters": [
            {"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok"}}}}  # fmt: skip
        paths[f"/{name}/search"] = {"get": {"parameters": [
            {"name": "q", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}}  # fmt: skip
        paths[f"/{name}/stats"] = {"get": {"responses": {"200": {"description": "ok"}}}}

    spec = {
        "openapi": "3.0.3",
        "info": {"title": "Bench API", "version": "2"},
        "servers": [{"url": "/api/v2"}],
        "paths": paths,
    }

    @app.route("/openapi.json")
    def openapi() -> Any:
        return jsonify(spec)

    @app.route("/")
    def index() -> Any:
        return jsonify(docs="/openapi.json")

    return app


if __name__ == "__main__":
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
    server.serve_forever()
