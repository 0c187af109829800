"""Flawed and fixed apps for error-based evidence (issue 15, capability 2).

Each flawed app pastes a request value into a SQL statement, a template's source or an XML
document, and leaks the resulting error the way real apps do: the Werkzeug debugger's
traceback page, ``{"error": str(exc)}``, a plain-text 500. Each fixed twin binds the value
(parameterised query, template context, XML serializer) and answers failures generically.
Written from the libraries' public docs: sqlite3 placeholders, Jinja2
``render_template_string`` context, ``xml.etree.ElementTree`` element building.
"""

from __future__ import annotations

import contextlib
import sqlite3
import xml.etree.ElementTree as ET
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template_string, request
from werkzeug.debug import DebuggedApplication

ITEMS = [(1, "widget", "hello-world"), (2, "gadget", "second-post"), (3, "doohickey", "third")]


def _db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, slug TEXT)")
    db.executemany("INSERT INTO items VALUES (?, ?, ?)", ITEMS)
    return db


def _rows(sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
    with contextlib.closing(_db()) as db:
        return db.execute(sql, args).fetchall()


def _index(*links: str) -> str:
    items = "".join(f'<li><a href="{u}">{u}</a></li>' for u in links)
    return (
        f"<!doctype html><html><head><title>Shop</title></head><body><ul>{items}</ul></body></html>"
    )


def debugger_sql_app(safe: bool = False) -> Any:
    """``/items/<id>`` and ``/search?name=``: raw SQL whose error reaches the Werkzeug debugger
    (the app runs with ``debug=True``); the fixed twin binds values and validates the id."""
    app = Flask("err_debugger_sql")

    @app.route("/")
    def index() -> Any:
        return _index("/items/1", "/items/2", "/search?name=widget")

    @app.route("/items/<item_id>")
    def item(item_id: str) -> Any:
        if safe:
            if not item_id.isdigit():
                abort(404)
            rows = _rows("SELECT id, name FROM items WHERE id = ?", (int(item_id),))
        else:
            rows = _rows(f"SELECT id, name FROM items WHERE id = {item_id}")
        if not rows:
            abort(404)
        return jsonify(id=rows[0][0], name=rows[0][1])

    @app.route("/search")
    def search() -> Any:
        name = request.args.get("name", "")
        if safe:
            rows = _rows("SELECT id, name FROM items WHERE name = ?", (name,))
        else:
            rows = _rows(f"SELECT id, name FROM items WHERE name = '{name}'")
        return jsonify(items=[{"id": i, "name": n} for i, n in rows])

    app.debug = True
    return DebuggedApplication(app, evalex=False)


def json_error_app(safe: bool = False) -> Flask:
    """``/api/posts/<slug>`` answers ``{"error": str(exc)}``; ``/api/report?year=`` a plain-text
    500 with the message. The fixed twin uses placeholders and says "internal error"."""
    app = Flask("err_json_sql")

    @app.route("/")
    def index() -> Any:
        return _index("/api/posts/hello-world", "/api/posts/second-post", "/api/report?year=2024")

    @app.route("/api/posts/<slug>")
    def post(slug: str) -> Any:
        try:
            rows = (_rows("SELECT id, name FROM items WHERE slug = ?", (slug,)) if safe else
                    _rows(f"SELECT id, name FROM items WHERE slug = '{slug}'"))  # fmt: skip
        except sqlite3.Error as exc:
            return jsonify(error="internal error" if safe else str(exc)), 500
        if not rows:
            return jsonify(error="not found"), 404
        return jsonify(id=rows[0][0], name=rows[0][1])

    @app.route("/api/report")
    def report() -> Any:
        year = request.args.get("year", "2024")
        try:
            rows = (_rows("SELECT count(*) FROM items WHERE id < ?", (year,)) if safe else
                    _rows(f"SELECT count(*) FROM items WHERE id < '{year}'"))  # fmt: skip
        except sqlite3.Error as exc:
            text = "internal error" if safe else f"database error: {exc}"
            return Response(text, 500, mimetype="text/plain")
        return jsonify(year=year, count=rows[0][0])

    return app


def template_app(safe: bool = False) -> Flask:
    """``/greet?name=``: the name pasted inside a Jinja2 string literal of the template source;
    the error goes back as JSON. The fixed twin passes the name as context."""
    app = Flask("err_template")

    @app.route("/")
    def index() -> Any:
        return _index("/greet?name=ada")

    @app.route("/greet")
    def greet() -> Any:
        name = request.args.get("name", "")
        try:
            if safe:
                text = render_template_string("Hello {{ name | title }}!", name=name)
            else:
                text = render_template_string("Hello {{ '" + name + "' | title }}!")
        except Exception as exc:  # noqa: BLE001 - the leak under test
            return jsonify(
                error="could not render" if safe else f"{type(exc).__name__}: {exc}"
            ), 500
        return jsonify(greeting=text)

    return app


def xml_app(safe: bool = False) -> Flask:
    """``/api/lookup?term=``: the term pasted into an XML attribute and parsed with
    ElementTree; the parser's message goes back. The fixed twin builds the element."""
    app = Flask("err_xml")

    @app.route("/")
    def index() -> Any:
        return _index("/api/lookup?term=widget")

    @app.route("/api/lookup")
    def lookup() -> Any:
        term = request.args.get("term", "")
        if safe:
            query = ET.Element("query")
            query.set("term", term)
            doc = ET.tostring(query, encoding="unicode")
        else:
            doc = f'<query term="{term}"/>'
        try:
            parsed = ET.fromstring(doc)
        except ET.ParseError as exc:
            return jsonify(error="bad request" if safe else f"invalid query document: {exc}"), 400
        names = [n for _, n, _ in ITEMS if n == parsed.get("term")]
        return jsonify(term=parsed.get("term"), found=names)

    return app


def django_engine_app(safe: bool = False) -> Flask:
    """``/hello?name=``: a greeting compiled with Django's template engine (used standalone,
    ``django.template.Engine``) from a string that contains the name; the error goes back as
    JSON. A quote is plain text to Django, but ``{{a*b}}`` is not valid Django syntax. The
    fixed twin passes the name in the context."""
    from django.template import Context, Engine

    app = Flask("err_django_engine")
    engine = Engine()

    @app.route("/")
    def index() -> Any:
        return _index("/hello?name=ada")

    @app.route("/hello")
    def hello() -> Any:
        name = request.args.get("name", "")
        try:
            if safe:
                text = engine.from_string("<p>Hello {{ name }}</p>").render(Context({"name": name}))
            else:
                text = engine.from_string("<p>Hello " + name + "</p>").render(Context())
        except Exception as exc:  # noqa: BLE001 - the leak under test
            return jsonify(error="could not render" if safe else str(exc)), 500
        return jsonify(greeting=text)

    return app


def many_params_app() -> Flask:
    """``/api/filter`` with twelve query parameters: ten opaque ones, a numeric ``year`` and a
    ``color`` the page shows back; only ten can be probed."""
    app = Flask("err_many_params")
    opaque = "&".join(f"f{i}=abc" for i in range(10))

    @app.route("/")
    def index() -> Any:
        return _index(f"/api/filter?{opaque}&year=2024&color=blue")

    @app.route("/api/filter")
    def filtered() -> Any:
        return jsonify(color=request.args.get("color", ""), items=[])

    return app
