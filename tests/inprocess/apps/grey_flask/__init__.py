"""A Flask shop with blueprints and converters: ``create_app("flawed")`` or ``("fixed")``.

Only ``/`` and ``/api/items`` are linked. Unlinked, in the ``internal`` blueprint:

- ``/internal/users/<int:user_id>``: the flawed one returns the password hash;
- ``/internal/preview?tpl=``: the flawed one renders the parameter as a Jinja2 template;
- ``/internal/exports/<uuid:export_id>``: the flawed one shows a live AWS key.

The flawed config (``settings_flawed.py``): DEBUG on, a wordlist SECRET_KEY, no SameSite,
90-day sessions, flask-cors with any origin and credentials, no body limit. The fixed app
sets every one of them, registers Talisman and Flask-Limiter, and answers 401 on
``/internal/`` without the staff token.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Flask, jsonify, render_template_string, request

STAFF_TOKEN = secrets.token_urlsafe(24)
AWS_KEY = "AKIA" + "Q3EGRJ7QZ2XKTVM5"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3x8Kx" + "Ab1"


def _api(fixed: bool) -> Blueprint:
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/items")
    def items() -> Any:
        return jsonify(items=[{"id": 3, "name": "widget"}, {"id": 4, "name": "gadget"}])

    @api.get("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        return jsonify(id=item_id, name="widget")

    return api


def _internal(fixed: bool) -> Blueprint:
    internal = Blueprint("internal", __name__, url_prefix="/internal")

    @internal.before_request
    def staff_only() -> Any:
        if fixed and request.headers.get("X-Staff-Token") != STAFF_TOKEN:
            return jsonify(error="unauthorized"), 401
        return None

    @internal.get("/users/<int:user_id>")
    def user(user_id: int) -> Any:
        record = {"id": user_id, "name": "Ada", "email": "ada@example.com"}
        if not fixed:
            record["password_hash"] = (
                "$2b$12$" + "Kq3nY7vU9xP2mL5sT8wR1eJ4hG6fD0cB3aZ9yX7vW5uT3sR1qP0o"
            )
        return jsonify(record)

    @internal.get("/preview")
    def preview() -> Any:
        tpl = request.args.get("tpl", "hello")
        if fixed:
            return render_template_string("<p>{{ text }}</p>", text=tpl)
        return render_template_string("<p>" + tpl + "</p>")

    @internal.get("/exports/<uuid:export_id>")
    def export(export_id: Any) -> Any:
        if fixed:
            return jsonify(id=str(export_id), status="ready")
        return jsonify(id=str(export_id), aws_access_key_id=AWS_KEY,
                       aws_secret_access_key=AWS_SECRET)  # fmt: skip

    return internal


def create_app(variant: str = "flawed") -> Flask:
    fixed = variant == "fixed"
    app = Flask(__name__)
    app.config.from_object(f"grey_flask.settings_{variant}")
    app.register_blueprint(_api(fixed))
    app.register_blueprint(_internal(fixed))

    @app.get("/")
    def index() -> Any:
        return '<!doctype html><html><head><title>Shop</title></head><body><a href="/api/items">items</a></body></html>'

    from flask_cors import CORS

    if fixed:
        from flask_limiter import Limiter
        from flask_limiter.util import get_remote_address
        from flask_talisman import Talisman

        CORS(app, origins=["https://shop.example.com"], supports_credentials=True)
        Talisman(app, force_https=False, content_security_policy={"default-src": "'self'"},
                 session_cookie_secure=True)  # fmt: skip
        Limiter(get_remote_address, app=app, default_limits=["100000 per minute"],
                storage_uri="memory://")  # fmt: skip
    else:
        CORS(app, supports_credentials=True)
    return app


app = create_app("flawed")
