"""Flask apps for the injection-point model and the cross-site scripting check.

``xss_app`` makes the classic mistakes on purpose (``Markup``/``|safe`` on request values, an
unquoted attribute, a value pasted into a script string, a 404 handler that renders the path
as template source, a User-Agent banner, JSON served as text/html); ``xss_fixed_app`` is the
same site written the documented way (autoescaping, ``|tojson``, ``jsonify``) and must stay
clean. The guestbook pair is stored XSS (``--active``).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, jsonify, redirect, render_template_string, request
from markupsafe import Markup, escape

LINKS = [
    "/search?q=books",
    "/profile?name=ada",
    "/widget?theme=dark",
    "/api/echo?msg=hi",
    "/legacy/echo?msg=hi",
    "/plain?msg=hi",
    "/docs/intro",
    "/bye?next=/",
]


def _index(extra: str = "") -> str:
    items = "".join(f'<a href="{href}">{href}</a> ' for href in LINKS)
    return (
        f"<!doctype html><html><head><title>Site</title></head><body>{items}{extra}</body></html>"
    )


def xss_app() -> Flask:
    """Every sink the XSS check knows, unescaped."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:  # the browser banner and the time-zone cookie pasted into the page
        tz = request.cookies.get("tz", "UTC")
        page = _index(f"<p>Your browser: {request.headers.get('User-Agent', '')}</p><p>{tz}</p>")
        resp = Response(page, mimetype="text/html")
        resp.set_cookie("tz", "UTC", httponly=True, samesite="Lax")
        return resp

    @app.route("/find")
    def find() -> Any:  # the GET form's field, concatenated into the page
        return "<html><body><h2>Found: " + request.args.get("term", "") + "</h2></body></html>"

    @app.route("/search")
    def search() -> Any:  # Markup() on a request value: HTML text sink
        q = Markup(request.args.get("q", ""))
        return render_template_string("<h1>Results for {{ q }}</h1><p>none</p>", q=q)

    @app.route("/profile")
    def profile() -> Any:  # |safe in an unquoted attribute
        return render_template_string(
            "<form><input name=name value={{ name|safe }}></form><p>Profile</p>",
            name=request.args.get("name", ""),
        )

    @app.route("/widget")
    def widget() -> Any:  # a value pasted into a script string
        theme = request.args.get("theme", "")
        return f'<html><body><script>var theme = "{theme}"; start(theme);</script></body></html>'

    @app.route("/bye")
    def bye() -> Any:  # autoescaped, but a javascript: URL needs no markup
        next_url = request.args.get("next", "/")
        return render_template_string('<a href="{{ n }}">Continue</a>', n=next_url)

    @app.route("/api/echo")
    def api_echo() -> Any:  # JSON with application/json: not rendered by a browser
        return jsonify(echo=request.args.get("msg", ""))

    @app.route("/legacy/echo")
    def legacy_echo() -> Any:  # JSON served as text/html: rendered as a page
        return Response(json.dumps({"echo": request.args.get("msg", "")}), mimetype="text/html")

    @app.route("/plain")
    def plain() -> Any:  # text/plain: not rendered as HTML
        return Response("you said " + request.args.get("msg", ""), mimetype="text/plain")

    @app.route("/docs/intro")
    def intro() -> Any:  # a search form (GET): its field is an injection point
        return (
            '<html><body><h1>Intro</h1><form action="/find" method="get">'
            '<input name="term" value=""><button>Go</button></form></body></html>'
        )

    @app.errorhandler(404)
    def not_found(_e: Exception) -> Any:  # the path as template source: SSTI and XSS
        return render_template_string("<h1>No page at " + request.path + "</h1>"), 404

    return app


def xss_fixed_app() -> Flask:
    """The same site, escaped the documented way."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        tz = escape(request.cookies.get("tz", "UTC"))
        page = _index(f"<p>Your browser: {escape(request.headers.get('User-Agent', ''))}</p>"
                      f"<p>{tz}</p>")  # fmt: skip
        resp = Response(page, mimetype="text/html")
        resp.set_cookie("tz", "UTC", httponly=True, samesite="Lax")
        return resp

    @app.route("/find")
    def find() -> Any:
        return render_template_string(
            "<h2>Found: {{ term }}</h2>", term=request.args.get("term", "")
        )

    @app.route("/search")
    def search() -> Any:
        q = request.args.get("q", "")
        return render_template_string("<h1>Results for {{ q }}</h1><p>none</p>", q=q)

    @app.route("/profile")
    def profile() -> Any:
        return render_template_string(
            '<form><input name=name value="{{ name }}"></form><p>Profile</p>',
            name=request.args.get("name", ""),
        )

    @app.route("/widget")
    def widget() -> Any:
        return render_template_string(
            "<html><body><script>var theme = {{ theme|tojson }}; start(theme);</script>"
            "</body></html>",
            theme=request.args.get("theme", ""),
        )

    @app.route("/bye")
    def bye() -> Any:  # only site-relative paths
        n = request.args.get("next", "/")
        n = n if n.startswith("/") and not n.startswith("//") else "/"
        return render_template_string('<a href="{{ n }}">Continue</a>', n=n)

    @app.route("/api/echo")
    def api_echo() -> Any:
        return jsonify(echo=request.args.get("msg", ""))

    @app.route("/legacy/echo")
    def legacy_echo() -> Any:
        return jsonify(echo=request.args.get("msg", ""))

    @app.route("/plain")
    def plain() -> Any:
        return Response("you said " + request.args.get("msg", ""), mimetype="text/plain")

    @app.route("/docs/intro")
    def intro() -> Any:  # a search form (GET): its field is an injection point
        return (
            '<html><body><h1>Intro</h1><form action="/find" method="get">'
            '<input name="term" value=""><button>Go</button></form></body></html>'
        )

    @app.errorhandler(404)
    def not_found(_e: Exception) -> Any:
        return render_template_string("<h1>No page at {{ path }}</h1>", path=request.path), 404

    return app


def header_ssti_app() -> Flask:
    """A page that compiles the Referer header into its template (SSTI through a header)."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        back = request.headers.get("Referer", "/")
        return render_template_string('<a href="/about">about</a><p>Back to: ' + back + "</p>")

    @app.route("/about")
    def about() -> Any:
        return "<p>About</p>"

    return app


def guestbook_app(*, fixed: bool = False) -> Flask:
    """A guestbook: POST /sign stores a message, / lists them (|safe unless ``fixed``)."""
    app = Flask(__name__)
    messages: list[str] = []
    sink = "{{ m }}" if fixed else "{{ m|safe }}"

    @app.route("/")
    def index() -> Any:
        return render_template_string(
            "<h1>Guestbook</h1><ul>{% for m in messages %}<li>" + sink + "</li>{% endfor %}</ul>"
            '<form method="post" action="/sign"><input name="message" value="">'
            '<input type="submit" value="Sign"></form>',
            messages=messages,
        )

    @app.route("/sign", methods=["POST"])
    def sign() -> Any:
        messages.append(request.form.get("message", "")[:200])
        return redirect("/")

    return app


def fastapi_xss_app(*, fixed: bool = False) -> Any:
    """FastAPI: an ``HTMLResponse`` built with an f-string (``html.escape`` when ``fixed``),
    and a JSON endpoint echoing the same value (never XSS: ``application/json``)."""
    import html

    from fastapi import FastAPI
    from fastapi.responses import HTMLResponse

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return '<a href="/hello?name=ada">hello</a> <a href="/api/hello?name=ada">api</a>'

    @app.get("/hello", response_class=HTMLResponse)
    def hello(name: str = "") -> str:
        return f"<h1>Hello {html.escape(name) if fixed else name}</h1>"

    @app.get("/api/hello")
    def api_hello(name: str = "") -> dict[str, str]:
        return {"greeting": f"Hello <b>{name}</b>"}

    return app


def contact_app() -> Flask:
    """A POST form whose answer thanks the sender by name, unescaped (reflected via POST)."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return (
            '<form method="post" action="/contact"><input name="name" value="">'
            '<textarea name="message"></textarea><button>Send</button></form>'
        )

    @app.route("/contact", methods=["POST"])
    def contact() -> Any:
        return "<p>Thanks, " + request.form.get("name", "") + "!</p>"

    return app


def comments_api_app(*, fixed: bool = False) -> Flask:
    """A JSON API (described at /openapi.json) that stores comments; the /comments page lists
    them with ``|safe`` (``fixed``: autoescaped)."""
    app = Flask(__name__)
    comments: list[dict[str, str]] = []
    sink = "{{ c.text }}" if fixed else "{{ c.text|safe }}"
    op = {
        "requestBody": {"content": {"application/json": {"schema": {"type": "object",
            "properties": {"author": {"type": "string"}, "text": {"type": "string"}},
            "required": ["author", "text"]}}}},
        "responses": {"201": {"description": "created"}},
    }  # fmt: skip

    @app.route("/")
    def index() -> Any:
        return '<a href="/comments">comments</a> <a href="/openapi.json">api</a>'

    @app.route("/openapi.json")
    def openapi() -> Any:
        return jsonify({"openapi": "3.0.3", "info": {"title": "Comments", "version": "1"},
                        "paths": {"/api/comments": {"post": op}}})  # fmt: skip

    @app.route("/api/comments", methods=["POST"])
    def add() -> Any:
        data = request.get_json(silent=True) or {}
        comments.append({"author": str(data.get("author", ""))[:80],
                         "text": str(data.get("text", ""))[:500]})  # fmt: skip
        return jsonify(ok=True), 201

    @app.route("/comments")
    def listing() -> Any:
        return render_template_string(
            "<h1>Comments</h1><ul>{% for c in comments %}<li>{{ c.author }}: "
            + sink
            + "</li>{% endfor %}</ul>",
            comments=comments,
        )

    return app
