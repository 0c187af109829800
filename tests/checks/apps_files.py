"""Flask apps for the exposed-file, path-traversal and SSTI check tests.

Vulnerable apps make their mistakes on purpose; negatives are the look-alikes a
scanner must not flag (stock static route, echoes, catch-alls, calculators).
"""

from __future__ import annotations

import gzip
import io
import os
import re
import sqlite3
import tarfile
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, render_template_string, request, send_from_directory
from jinja2.sandbox import SandboxedEnvironment

SPA_HTML = (
    "<!doctype html><html><head><title>Shop</title></head>"
    '<body><div id="root"></div><script src="/assets/app.js"></script></body></html>'
)

APP_SOURCE = """\
import os

from flask import Flask, request

app = Flask(__name__)
app.secret_key = "s3cr3t-from-source"


@app.route("/")
def index():
    return "hi"
"""

CONFIG_SOURCE = """\
# production settings
SECRET_KEY = "9f8e7d6c5b4a3210"
SQLALCHEMY_DATABASE_URI = "postgresql://app:Hunter2!@db.internal/app"
DEBUG = False
"""

DOTENV = """\
# local secrets
FLASK_APP=app.py
SECRET_KEY=change-me-please-0123
DATABASE_URL=postgresql://app:Hunter2!@db.internal:5432/app

STRIPE_API_KEY=sk_live_0000000000000000
"""

SQL_DUMP = """\
-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: shop
CREATE TABLE `users` (
  `id` int NOT NULL AUTO_INCREMENT,
  `email` varchar(255) NOT NULL,
  PRIMARY KEY (`id`)
);
INSERT INTO `users` VALUES (1,'ada@example.com');
"""

GIT_CONFIG = """\
[core]
\trepositoryformatversion = 0
\tfilemode = true
\tbare = false
[remote "origin"]
\turl = https://deploy:ghp_token000000000000@github.com/acme/shop.git
"""


def _index(links: list[str]) -> str:
    items = "".join(f'<a href="{href}">{href}</a> ' for href in links)
    return f"<!doctype html><html><head><title>Site</title></head><body>{items}</body></html>"


def spa_app() -> Flask:
    """A catch-all SPA: the same HTML with 200 for every path and query."""
    app = Flask(__name__, static_folder=None)

    @app.route("/", defaults={"p": ""})
    @app.route("/<path:p>")
    def spa(p: str) -> Any:
        return SPA_HTML

    return app


# -- exposed files ------------------------------------------------------------------
def make_project(root: Path) -> Path:
    """A Flask project directory full of things that must not be served."""
    (root / ".git").mkdir(parents=True, exist_ok=True)
    (root / "instance").mkdir(exist_ok=True)
    (root / ".env").write_text(DOTENV)
    (root / ".env.production").write_text(DOTENV.replace("change-me", "prod"))
    (root / ".flaskenv").write_text("FLASK_APP=app.py\nFLASK_DEBUG=1\n")
    (root / "config.py").write_text(CONFIG_SOURCE)
    (root / "app.py").write_text(APP_SOURCE)
    (root / "app.py.bak").write_text(APP_SOURCE)
    (root / ".git" / "config").write_text(GIT_CONFIG)
    (root / "dump.sql").write_text(SQL_DUMP)
    (root / "backup.sql.gz").write_bytes(gzip.compress(SQL_DUMP.encode()))
    db = sqlite3.connect(root / "instance" / "app.db")
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    db.execute("INSERT INTO users (email) VALUES ('ada@example.com')")
    db.commit()
    db.close()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("shop/app.py", APP_SOURCE)
    (root / "backup.zip").write_bytes(buf.getvalue())
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as tf:
        info = tarfile.TarInfo("site/app.py")
        info.size = len(APP_SOURCE)
        tf.addfile(info, io.BytesIO(APP_SOURCE.encode()))
    (root / "site.tar.gz").write_bytes(tar.getvalue())
    return root


def project_root_app(project: Path) -> Flask:
    """The classic mistake: the project directory is the static folder, served at /.

    Flask sends ``.gz`` files with ``Content-Encoding: gzip``, so the scanner sees
    ``backup.sql.gz`` as SQL text and ``site.tar.gz`` as a tar.
    """
    app = Flask(__name__, static_folder=str(project), static_url_path="")

    @app.route("/")
    def index() -> Any:
        return _index(["/about"])

    @app.route("/about")
    def about() -> Any:
        return "<html><body>about</body></html>"

    @app.route("/dump.sql.gz")
    def raw_dump() -> Any:  # as nginx serves it: raw gzip bytes, no Content-Encoding
        return Response(gzip.compress(SQL_DUMP.encode()), mimetype="application/gzip")

    return app


def static_leak_app(static: Path) -> Flask:
    """Stock Flask static route, but .env and config.py were dropped into static/."""
    static.mkdir(parents=True, exist_ok=True)
    (static / ".env").write_text(DOTENV)
    (static / "config.py").write_text(CONFIG_SOURCE)
    (static / "style.css").write_text("body { color: #333 }\n")
    app = Flask(__name__, static_folder=str(static), static_url_path="/static")

    @app.route("/")
    def index() -> Any:
        return _index(["/static/style.css"])

    return app


def hardened_files_app(static: Path) -> Flask:
    """Only assets in static/; JSON 404s; a docs page about .env that is HTML."""
    static.mkdir(parents=True, exist_ok=True)
    (static / "style.css").write_text("body { color: #333 }\n")
    (static / "app.js").write_text("console.log('hi')\n")
    app = Flask(__name__, static_folder=str(static), static_url_path="/static")

    @app.route("/")
    def index() -> Any:
        return _index(["/static/style.css", "/static/app.js", "/api/items"])

    @app.route("/api/items")
    def items() -> Any:
        return {"items": [1, 2, 3]}

    @app.route("/.env")
    def env_docs() -> Any:  # an HTML page *about* dotenv files is not a leak
        return "<html><body><h1>Configuration</h1><pre>SECRET_KEY=...\nDEBUG=0</pre></body></html>"

    @app.route("/backup.zip")
    def no_backup() -> Any:
        return "<html><body>Backups are not available.</body></html>"

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Any:
        return {"error": "not found"}, 404

    return app


def kv_catchall_app() -> Flask:
    """A plain-text catch-all whose answer looks like key=value lines (soft-404)."""
    app = Flask(__name__, static_folder=None)

    @app.route("/", defaults={"p": ""})
    @app.route("/<path:p>")
    def status(p: str) -> Any:
        return Response(f"STATUS=ok\nNODE=web-1\nREQUEST=/{p}\n", mimetype="text/plain")

    return app


# -- path traversal -------------------------------------------------------------------
def make_traversal_project(root: Path) -> Path:
    (root / "static").mkdir(parents=True, exist_ok=True)
    (root / "files").mkdir(exist_ok=True)
    (root / "static" / "style.css").write_text("body { color: #333 }\n")
    (root / "files" / "report.txt").write_text("quarterly report\n")
    (root / "app.py").write_text(APP_SOURCE)
    (root / "config.py").write_text(CONFIG_SOURCE)
    return root


def naive_static_app(root: Path) -> Flask:
    """A hand-written static route: open(os.path.join(STATIC, filename))."""
    static = os.path.join(root, "static")
    app = Flask(__name__, static_folder=None)

    @app.route("/")
    def index() -> Any:
        return _index(["/static/style.css"])

    @app.route("/static/<path:filename>")
    def static_file(filename: str) -> Any:
        try:
            with open(os.path.join(static, filename), "rb") as fh:
                return Response(fh.read(), mimetype="application/octet-stream")
        except OSError:
            abort(404)

    return app


def download_app(root: Path, *, safe: bool = False) -> Flask:
    """``/download?file=`` joining the value to files/ (or send_from_directory when safe)."""
    base = os.path.join(root, "files")
    app = Flask(__name__, static_folder=str(Path(root) / "static"), static_url_path="/static")

    @app.route("/")
    def index() -> Any:
        return _index(["/download?file=report.txt", "/static/style.css", "/search?q=shoes"])

    @app.route("/search")
    def search() -> Any:
        return {"q": request.args.get("q", "")}

    @app.route("/download")
    def download() -> Any:
        name = request.args.get("file", "")
        if safe:
            return send_from_directory(base, name)
        try:
            with open(os.path.join(base, name), encoding="utf-8", errors="replace") as fh:
                return Response(fh.read(), mimetype="text/plain")
        except OSError:
            return Response(f"no such file: {name}", status=404, mimetype="text/plain")

    return app


def echo_file_app() -> Flask:
    """Echoes the file parameter back with 200, and always shows a passwd sample."""
    app = Flask(__name__, static_folder=None)

    @app.route("/")
    def index() -> Any:
        return _index(["/view?file=intro.txt", "/page?path=docs/intro.md"])

    @app.route("/view")
    def view() -> Any:
        return f"<html><body>Showing {request.args.get('file', '')}: coming soon</body></html>"

    @app.route("/page")
    def page() -> Any:  # a tutorial page that always contains a passwd line
        return (
            "<html><body><h1>Reading /etc/passwd</h1><pre>root:x:0:0:root:/root:/bin/bash</pre>"
            f"<p>{request.args.get('path', '')}</p></body></html>"
        )

    return app


# -- template injection ---------------------------------------------------------------
def ssti_app() -> Flask:
    """Concatenates user input into template source (query and path)."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return _index(["/hello?name=world", "/greet/ada", "/items?limit=5"])

    @app.route("/hello")
    def hello() -> Any:
        return render_template_string("<p>Hello " + request.args.get("name", "") + "</p>")

    @app.route("/greet/<name>")
    def greet(name: str) -> Any:
        return render_template_string("<h1>Hi " + name + "</h1>")

    @app.route("/items")
    def items() -> Any:
        return {"limit": request.args.get("limit", "")}

    return app


def safe_ssti_app() -> Flask:
    """The same pages, with input passed as template context."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return _index(["/hello?name=world", "/greet/ada", "/calc?expr=6*7"])

    @app.route("/hello")
    def hello() -> Any:
        return render_template_string("<p>Hello {{ name }}</p>", name=request.args.get("name", ""))

    @app.route("/greet/<name>")
    def greet(name: str) -> Any:
        return render_template_string("<h1>Hi {{ name }}</h1>", name=name)

    @app.route("/calc")
    def calc() -> Any:  # multiplies the numbers it finds: a calculator, not a template
        m = re.search(r"(\d+)\s*\*\s*(\d+)", request.args.get("expr", ""))
        return {"result": int(m.group(1)) * int(m.group(2)) if m else None}

    return app


def sandboxed_ssti_app() -> Flask:
    """User input as template source, but rendered in Jinja2's sandbox."""
    app = Flask(__name__)
    env = SandboxedEnvironment()

    @app.route("/")
    def index() -> Any:
        return _index(["/hello?name=world"])

    @app.route("/hello")
    def hello() -> Any:
        try:
            return env.from_string("Hello " + request.args.get("name", "")).render()
        except Exception:  # noqa: BLE001 - the sandbox refuses unsafe attributes
            return "template error", 400

    return app


def ssti_form_app() -> Flask:
    """A POST form whose field is concatenated into a template (found only with --active)."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return (
            "<html><body><form method='post' action='/contact'>"
            "<input name='message'><input type='submit'></form></body></html>"
        )

    @app.route("/contact", methods=["POST"])
    def contact() -> Any:
        return render_template_string("<p>Thanks: " + request.form.get("message", "") + "</p>")

    return app
