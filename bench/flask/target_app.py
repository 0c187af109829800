"""A deliberately misconfigured Flask app for the scanner benchmark. Never deploy it.

Seeded problems (the ids are the rows of the benchmark table, see SEEDED):

* ``debugger``   Werkzeug's DebuggedApplication with ``evalex=True`` and the PIN on;
                 ``/api/items?limit=abc`` raises, so the debugger's traceback page shows up
* ``console``    the interactive console at ``/console`` (PIN-locked)
* ``dotenv``     ``/static/.env`` with (fake) secrets
* ``config``     ``/static/config.py`` with SECRET_KEY and a database URL
* ``weak_key``   ``SECRET_KEY = "dev"`` signs the session cookie
* ``cookie``     the session cookie is set without HttpOnly (and without SameSite)
* ``session``    the client-side session carries e-mail and role
* ``ssti``       ``/hello?name=`` concatenates the value into ``render_template_string``
* ``traversal``  ``/download?file=`` joins the value onto a directory and opens it
* ``banner``     Werkzeug's development server answers (``Server: Werkzeug/x Python/y``)
* ``toolbar``    Flask-DebugToolbar on HTML pages, with SECRET_KEY in its config panel
                 (only when flask-debugtoolbar is installed and ``--toolbar`` is given)

Every page is linked from ``/`` so a crawler finds the parameters. The static files are
written to a temporary folder at start-up and removed at exit.

Served by Werkzeug's threaded development server on 127.0.0.1 (free port unless
``--port``). A request handler counts every HTTP response the server sends (also those it
sends itself for malformed requests, before the app sees them). Only the benchmark knows
``/__bench_<token>/``, which is never linked and excluded from the count:

* ``GET /__bench_<token>/count``  -> ``{"requests": N, "log": [[method, target, status], ...]}``
* ``GET /__bench_<token>/reset``  -> zero the count and the log

Run: ``python target_app.py --token SECRET [--toolbar]``; prints ``READY <url>`` when it
serves, and stops on SIGTERM / SIGINT.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from typing import Any

from flask import Flask, abort, jsonify, render_template_string, request, session
from werkzeug.debug import DebuggedApplication
from werkzeug.serving import WSGIRequestHandler, make_server

SECRET_KEY = "dev"
MAX_LOG = 50_000

#: seeded problem id -> what it is (the rows of the benchmark table, in order)
SEEDED = {
    "debugger": "Werkzeug debugger middleware (evalex on, PIN on)",
    "traceback": "debugger traceback page on a crash (/api/items?limit=abc)",
    "console": "interactive console at /console",
    "dotenv": "/static/.env with secrets",
    "config": "/static/config.py with SECRET_KEY",
    "weak_key": 'weak SECRET_KEY "dev" (session cookie forgeable)',
    "cookie": "session cookie without HttpOnly",
    "session": "readable session contents (email, role)",
    "ssti": "SSTI in /hello?name= (render_template_string)",
    "traversal": "path traversal in /download?file=",
    "banner": "Werkzeug dev server / version banner",
    "toolbar": "Flask-DebugToolbar (SECRET_KEY in config panel)",
}

_ENV_FILE = """\
# local settings - never commit
FLASK_APP=app.py
FLASK_DEBUG=1
SECRET_KEY=dev
DATABASE_URL=postgresql://shop:bench-not-a-real-password@127.0.0.1:5432/shop
MAIL_PASSWORD=bench-not-a-real-mail-password
PAYMENT_API_KEY=bench_fake_0123456789abcdef
"""

_CONFIG_FILE = """\
import os

DEBUG = True
SECRET_KEY = "dev"
SQLALCHEMY_DATABASE_URI = "postgresql://shop:bench-not-a-real-password@127.0.0.1/shop"
SESSION_COOKIE_HTTPONLY = False
UPLOAD_FOLDER = os.path.join(os.path.dirname(__file__), "uploads")
"""

_CSS = "body { font-family: sans-serif; margin: 2em; }\n"

_INDEX = """<!doctype html>
<html><head><title>Bench Shop</title><link rel="stylesheet" href="/static/style.css"></head>
<body>
<h1>Bench Shop</h1>
<ul>
<li><a href="/hello?name=guest">greeting</a></li>
<li><a href="/download?file=report.txt">download the report</a></li>
<li><a href="/api/items?limit=10">items</a></li>
<li><a href="/api/users/1">user 1</a></li>
<li><a href="/api/status">status</a></li>
</ul>
<form action="/search" method="get"><input name="q" value=""><input type="submit"></form>
</body></html>
"""

USERS = {
    1: {"id": 1, "email": "ada@example.com", "role": "admin"},
    2: {"id": 2, "email": "bob@example.com", "role": "user"},
}


def write_files(root: str) -> tuple[str, str]:
    """Create the static folder (with the leaked files) and the download folder."""
    static = os.path.join(root, "static")
    files = os.path.join(root, "files")
    os.makedirs(static)
    os.makedirs(files)
    for name, text in ((".env", _ENV_FILE), ("config.py", _CONFIG_FILE), ("style.css", _CSS)):
        with open(os.path.join(static, name), "w", encoding="utf-8") as fh:
            fh.write(text)
    with open(os.path.join(files, "report.txt"), "w", encoding="utf-8") as fh:
        fh.write("quarterly report: all good\n")
    return static, files


def create_app(root: str, toolbar: bool = False) -> Flask:
    """The Flask app (no debugger middleware) with its files under ``root``."""
    static, files = write_files(root)
    app = Flask(__name__, static_folder=static)
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        SESSION_COOKIE_HTTPONLY=False,
        SESSION_COOKIE_SAMESITE=None,
        DEBUG_TB_INTERCEPT_REDIRECTS=False,
    )
    app.debug = True

    @app.route("/")
    def index() -> Any:
        session["user_id"] = 1
        session["email"] = USERS[1]["email"]
        session["role"] = USERS[1]["role"]
        return _INDEX

    @app.route("/hello")
    def hello() -> Any:
        name = request.args.get("name", "guest")
        return render_template_string("<p>Hello " + name + "!</p>")  # the SSTI

    @app.route("/download")
    def download() -> Any:
        name = request.args.get("file", "report.txt")
        path = os.path.join(files, name)  # the traversal: no safe_join
        try:
            with open(path, "rb") as fh:
                data = fh.read(200_000)
        except OSError:
            abort(404)
        return data, 200, {"Content-Type": "text/plain; charset=utf-8"}

    @app.route("/api/items")
    def items() -> Any:
        limit = int(request.args.get("limit", "10"))  # ValueError on ?limit=abc
        return jsonify([{"id": i, "name": f"item {i}"} for i in range(min(limit, 100))])

    @app.route("/api/users/<int:user_id>")
    def user(user_id: int) -> Any:
        if user_id not in USERS:
            abort(404)
        return jsonify(USERS[user_id])

    @app.route("/api/status")
    def status() -> Any:
        return jsonify({"status": "ok", "debug": app.debug})

    @app.route("/search")
    def search() -> Any:
        return jsonify({"q": request.args.get("q", ""), "results": []})

    if toolbar:
        from flask_debugtoolbar import DebugToolbarExtension

        DebugToolbarExtension(app)
    return app


class Counter:
    """Every response the server sent, minus the benchmark's own calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.log: list[tuple[str, str, int | str]] = []

    def add(self, method: str, target: str, status: int | str) -> None:
        with self.lock:
            self.count += 1
            if len(self.log) < MAX_LOG:
                self.log.append((method, target[:300], status))

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.count, "log": list(self.log)}

    def reset(self) -> None:
        with self.lock:
            self.count = 0
            self.log.clear()


def make_handler(counter: Counter, prefix: str) -> type[WSGIRequestHandler]:
    class CountingHandler(WSGIRequestHandler):
        def log_request(self, code: Any = "-", size: Any = "-") -> None:
            target = getattr(self, "path", "") or ""
            if not target.startswith(prefix):
                status = getattr(code, "value", code)
                counter.add(getattr(self, "command", None) or "?", target, status)

        def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002
            pass

    return CountingHandler


def bench_middleware(app: Any, counter: Counter, prefix: str) -> Any:
    """Answer the benchmark's own paths; pass everything else to ``app``."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(prefix):
            action = path[len(prefix) :]
            if action == "count":
                body = json.dumps(counter.snapshot()).encode()
            elif action == "reset":
                counter.reset()
                body = b'{"requests": 0}'
            else:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"not found"]
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        environ["wsgi.errors"] = io.StringIO()  # the debugger logs each traceback there
        return app(environ, start_response)

    return wsgi


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=None, help="secret part of the bench paths")
    parser.add_argument("--toolbar", action="store_true", help="add Flask-DebugToolbar")
    args = parser.parse_args(argv)
    if not (args.host.startswith("127.") or args.host in ("localhost", "::1")):
        parser.error("this app serves on the loopback interface only")

    token = args.token or secrets.token_hex(8)
    prefix = f"/__bench_{token}/"
    root = tempfile.mkdtemp(prefix="apigrade-bench-flask-")
    try:
        flask_app = create_app(root, toolbar=args.toolbar)
        # ``flask run --debug``: the debugger with its console and the PIN on
        debugged = DebuggedApplication(flask_app, evalex=True, pin_security=True)
        counter = Counter()
        server = make_server(
            args.host,
            args.port,
            bench_middleware(debugged, counter, prefix),
            threaded=True,
            request_handler=make_handler(counter, prefix),
        )

        def stop(signum: int, frame: Any) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        print(f"READY http://{args.host}:{server.server_port}/", flush=True)  # 127.x only
        server.serve_forever(poll_interval=0.1)
        server.server_close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
