"""A Flask app with 50 routes (5 blueprints, converters), none linked from ``/``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify

RESOURCES = ("users", "orders", "items", "invoices", "reports")


def _blueprint(name: str) -> Blueprint:
    bp = Blueprint(name, __name__, url_prefix=f"/api/{name}")

    def listing() -> Any:
        return jsonify([{"id": i, "name": f"{name}-{i}"} for i in range(1, 4)])

    def one(obj_id: int) -> Any:
        return jsonify(id=obj_id, name=f"{name}-{obj_id}")

    def by_ref(ref: Any) -> Any:
        return jsonify(ref=str(ref))

    def by_slug(slug: str) -> Any:
        return jsonify(slug=slug)

    def history(obj_id: int, page: int) -> Any:
        return jsonify(id=obj_id, page=page, events=[])

    def export(fmt: str) -> Any:
        return jsonify(format=fmt)

    def search() -> Any:
        return jsonify(results=[])

    def stats() -> Any:
        return jsonify(count=3)

    def files(path: str) -> Any:
        return jsonify(path=path)

    def health() -> Any:
        return jsonify(status="ok")

    bp.add_url_rule("", "listing", listing)
    bp.add_url_rule("/<int:obj_id>", "one", one)
    bp.add_url_rule("/ref/<uuid:ref>", "by_ref", by_ref)
    bp.add_url_rule("/slug/<slug>", "by_slug", by_slug)
    bp.add_url_rule("/<int:obj_id>/history/<int:page>", "history", history)
    bp.add_url_rule("/export/<any(csv, json):fmt>", "export", export)
    bp.add_url_rule("/search", "search", search)
    bp.add_url_rule("/stats", "stats", stats)
    bp.add_url_rule("/files/<path:path>", "files", files)
    bp.add_url_rule("/health", "health", health)
    return bp


def create_app() -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.update(SECRET_KEY="9c1f0e7b3a5d48e2b6f4a0c8d2e6f1a3b5c7d9e0f2a4b6c8")
    for name in RESOURCES:
        app.register_blueprint(_blueprint(name))
    return app  # 5 x 10 = 50 routes; "/" is not one of them (404)
