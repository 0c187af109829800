"""Test apps for the Flask/Werkzeug debug checks (debugger, toolbar, banners, errors).

Imported by the test modules next to it (pytest puts this folder on ``sys.path``). The
scan helpers come from ``tests/helpers_scan.py``, not from ``conftest``, whose module name
another folder's ``conftest.py`` could shadow.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, jsonify, request
from flask_debugtoolbar import DebugToolbarExtension
from werkzeug.debug import DebuggedApplication
from werkzeug.serving import WSGIRequestHandler

from helpers_scan import by_check, scan_app, scan_url  # noqa: F401 - re-exported for the tests

HOME = (
    "<!doctype html><html><head><title>Orders</title></head><body>"
    '<a href="/api/items?limit=10">items</a> <a href="/api/orders/7">order 7</a> '
    '<a href="/api/health">health</a></body></html>'
)


def api_app() -> Flask:
    """An API with two views that crash on a non-integer, and a JSON POST view."""
    app = Flask("dbg_api")

    @app.route("/")
    def index() -> Any:
        return HOME

    @app.route("/api/items")
    def items() -> Any:
        limit = int(request.args.get("limit", "10"))  # ValueError on "apigrade'x"
        return jsonify([{"id": i} for i in range(min(limit, 3))])

    @app.route("/api/orders/<oid>")
    def order(oid: str) -> Any:
        return jsonify(id=int(oid))  # ValueError on a non-integer path segment

    @app.route("/api/health")
    def health() -> Any:
        return jsonify(status="ok")

    @app.route("/api/notes", methods=["POST"])
    def notes() -> Any:
        data = json.loads(request.get_data())  # JSONDecodeError on bad JSON
        return jsonify(data), 201

    @app.route("/openapi.json")
    def spec() -> Any:
        return jsonify(SPEC)

    return app


SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Orders", "version": "1"},
    "paths": {
        "/api/notes": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"text": {"type": "string"}}}
                        }
                    }
                },
                "responses": {"201": {"description": "created"}},
            }
        }
    },
}


def debugged(app: Any = None, **kw: Any) -> DebuggedApplication:
    """``flask run --debug`` as it wraps the app: debug mode, evalex on, PIN on unless told."""
    app = app or api_app()
    app.debug = True  # Flask lets exceptions reach the debugger only in debug mode
    return DebuggedApplication(app, evalex=True, **kw)


def unlocked() -> DebuggedApplication:
    """The debugger with the PIN disabled (like WERKZEUG_DEBUG_PIN=off)."""
    return debugged(pin_security=False)


def localhost_only() -> DebuggedApplication:
    """A debugger that trusts only ``localhost`` (Werkzeug >= 3.0.3 host check)."""
    dbg = debugged()
    dbg.trusted_hosts = ["localhost"]
    return dbg


class Recorder:
    """WSGI middleware that records every request line the app receives."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._lock:
            self.seen.append(
                (environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("QUERY_STRING", ""))
            )
        return self.app(environ, start_response)


# -- Flask-DebugToolbar ------------------------------------------------------------

TOOLBAR_KEY = "tb-s3cret-key-0123456789"


def toolbar_app(hosts: list[str] | None = None) -> Flask:
    """The real extension, as a developer enables it (debug on, redirects not intercepted)."""
    app = Flask("dbg_toolbar")
    app.debug = True
    app.config.update(
        SECRET_KEY=TOOLBAR_KEY,
        DEBUG_TB_INTERCEPT_REDIRECTS=False,
        DEBUG_TB_HOSTS=hosts or [],
        SQLALCHEMY_DATABASE_URI="postgresql://shop:hunter2pass@db/shop",
    )

    @app.route("/")
    def index() -> Any:
        return (
            "<!doctype html><html><head><title>Shop</title></head><body><h1>Shop</h1></body></html>"
        )

    @app.route("/api/items")
    def items() -> Any:
        return jsonify(items=[])

    DebugToolbarExtension(app)
    return app


def toolbar_lookalike_app() -> Flask:
    """Pages that mention the toolbar without carrying it: docs and a Pyramid toolbar."""
    app = Flask("dbg_lookalike")

    @app.route("/")
    def index() -> Any:
        return (
            "<!doctype html><html><head><title>Docs</title></head><body>"
            '<a href="/pyramid">pyramid</a>'
            "<p>The flDebug panel shows config. Markup:</p>"
            "<pre><code>&lt;div id=&quot;flDebug&quot;&gt;&lt;div id=&quot;flDebugToolbar&quot;&gt;"
            "var DEBUG_TOOLBAR_STATIC_PATH = &#39;/_debug_toolbar/static/&#39;"
            "&lt;td&gt;SECRET_KEY&lt;/td&gt;&lt;td&gt;&lt;code&gt;&#39;x&#39;&lt;/code&gt;</code></pre>"
            "</body></html>"
        )

    @app.route("/pyramid")
    def pyramid() -> Any:
        return (
            "<!doctype html><html><body><p>page</p>"
            '<div id="pDebug"><div id="pDebugToolbarHandle">'
            '<a title="Show Toolbar" id="pShowToolBarButton" href="/_debug_toolbar/313233"'
            ' target="pDebugToolbar">&#171;</a></div></div></body></html>'
        )

    return app


# -- banners -------------------------------------------------------------------------


class QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
        pass


class OldWerkzeugHandler(QuietHandler):
    """The dev server claiming an old release (2.2.2 is before the 2.2.3 and 3.0.3 fixes)."""

    server_version = "Werkzeug/2.2.2"  # type: ignore[assignment]


class GunicornLikeHandler(QuietHandler):
    """A production-server-like banner with no versions."""

    server_version = "gunicorn"  # type: ignore[assignment]
    sys_version = ""


# -- verbose errors ----------------------------------------------------------------------

PY_TRACE = """Traceback (most recent call last):
  File "/srv/shop/app/views.py", line 42, in list_items
    limit = int(request.args["limit"])
ValueError: invalid literal for int() with base 10: 'abc'
"""

SQL_ERROR = (
    '(sqlite3.OperationalError) near "\'": syntax error\n'
    "[SQL: SELECT * FROM items WHERE name = ''']\n"
    "(Background on this error at: https://sqlalche.me/e/20/e3q8)"
)

# A faithful, shortened fixture of Django's technical_500.html output (DEBUG = True),
# written from the template in django/views/templates/technical_500.html; Django is not
# installed in the test environment.
DJANGO_500_FIXTURE = """<!DOCTYPE html>
<html lang="en">
<head><meta name="robots" content="NONE,NOARCHIVE">
<title>ZeroDivisionError at /boom/</title></head>
<body>
<header id="summary">
  <h1>ZeroDivisionError at /boom/</h1>
  <pre class="exception_value">division by zero</pre>
  <table class="meta">
    <tr><th scope="row">Request Method:</th><td>GET</td></tr>
    <tr><th scope="row">Django Version:</th><td>5.1.4</td></tr>
    <tr><th scope="row">Exception Type:</th><td>ZeroDivisionError</td></tr>
    <tr><th scope="row">Exception Value:</th><td id="exception_group"><pre>division by zero</pre></td></tr>
    <tr><th scope="row">Exception Location:</th><td><span class="fname">/srv/site/shop/views.py</span>, line 9, in boom</td></tr>
    <tr><th scope="row">Python Version:</th><td>3.12.1</td></tr>
  </table>
</header>
<main id="info"><div id="traceback"><h2>Traceback</h2></div></main>
<footer id="explanation">
  <p>
    You\u2019re seeing this error because you have <code>DEBUG = True</code> in your
    Django settings file. Change that to <code>False</code>, and Django will
    display a standard page generated by the handler for this status code.
  </p>
</footer>
</body>
</html>
"""

EXPRESS_HTML = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Error</title>\n'
    "</head>\n<body>\n<pre>TypeError: Cannot read properties of undefined (reading &#39;id&#39;)"
    "<br> &nbsp; &nbsp;at /srv/api/routes/users.js:14:22<br> &nbsp; &nbsp;at Layer.handle "
    "[as handle_request] (/srv/api/node_modules/express/lib/router/layer.js:95:5)<br>"
    " &nbsp; &nbsp;at next (/srv/api/node_modules/express/lib/router/route.js:137:13)</pre>\n"
    "</body>\n</html>\n"
)

DOCS_PAGE = (
    "<!doctype html><html><head><title>Debugging guide</title></head><body><main>"
    "<p>When Python fails it prints a Traceback; read the traceback from the bottom up.</p>"
    "<pre><code>Traceback (most recent call last):\n"
    '  File "/home/me/example.py", line 3, in &lt;module&gt;\n'
    "    1 / 0\nZeroDivisionError: division by zero</code></pre>"
    "<p>An SQL error such as sqlite3.OperationalError means the query is wrong.</p>"
    "</main></body></html>"
)


def errors_app() -> Flask:
    """Verbose errors of several stacks, and a documentation page that only talks about them."""
    app = Flask("dbg_errors")

    @app.route("/")
    def index() -> Any:
        links = ["/trace", "/json-trace", "/sql", "/django/boom", "/node", "/docs"]
        return "<!doctype html><body>" + " ".join(f'<a href="{u}">{u}</a>' for u in links)

    @app.route("/trace")
    def trace() -> Any:
        return PY_TRACE, 500, {"Content-Type": "text/plain; charset=utf-8"}

    @app.route("/json-trace")
    def json_trace() -> Any:
        return jsonify(error="internal", trace=PY_TRACE), 500

    @app.route("/sql")
    def sql() -> Any:
        return jsonify(error=SQL_ERROR), 500

    @app.route("/django/boom")
    def django() -> Any:
        return DJANGO_500_FIXTURE, 500

    @app.route("/node")
    def node() -> Any:
        return EXPRESS_HTML, 500

    @app.route("/docs")
    def docs() -> Any:
        return DOCS_PAGE

    return app
