"""Flask apps for leftovers beside served files (issue 15, capability 6).

``leaky_app``: assets are served from /static, /assets and /uploads (Flask's static
route plus ``send_from_directory``), and the deployment left dumps, databases,
archives, editor copies, a Vim swap file, git metadata, an instance config, a
credential log and a two-line .env in those folders. ``fixed_app``: the same site
with only the assets. ``catch_all_app``: 200 and the same page for every path.
"""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask, Response, send_from_directory

APP_JS = """\
// storefront
import { cart } from "./cart.js";
export function addToCart(id) {
  return fetch("/api/cart", { method: "POST", body: JSON.stringify({ id }) });
}
export function total(items) {
  return items.reduce((a, b) => a + b.price, 0);
}
"""
SITE_CSS = "body { color: #333 }\nh1 { font-size: 2em }\n.cart { display: flex }\n"
VIEWS_PY = """\
from flask import Blueprint, request

bp = Blueprint("views", __name__)
API_TOKEN = "tok_live_0123456789"


@bp.route("/hello")
def hello():
    return "hello " + request.args.get("name", "")
"""
SQL_DUMP = """\
-- PostgreSQL database dump
--
SET statement_timeout = 0;
CREATE TABLE public.users (
    id integer NOT NULL,
    email text NOT NULL
);
INSERT INTO public.users VALUES (1, 'ada@example.com');
"""
TWO_LINE_ENV = "# production\nSECRET_KEY=0f1e2d3c4b5a69788796a5b4\n"
GIT_HEAD = "ref: refs/heads/main\n"
INSTANCE_CFG = 'SECRET_KEY = "a7b6c5d4e3f2a1b0"\nSQLALCHEMY_DATABASE_URI = "sqlite:///app.db"\n'
APP_LOG = """\
2026-11-30 10:01:02,123 INFO werkzeug: 10.0.0.5 - - "POST /login HTTP/1.1" 302 -
2026-11-30 10:01:02,125 DEBUG app: login attempt form={'username': 'ada', 'password': 'Tr0ub4dor&3'}
2026-11-30 10:01:03,001 INFO app: user ada logged in
"""
PHP_SOURCE = "<?php\n$db_pass = 'php-Secret-99';\necho '<h1>Welcome</h1>';\n"
SECRETS = ("0f1e2d3c4b5a6978", "Tr0ub4dor", "a7b6c5d4e3f2", "tok_live_0123")


def _swap_of(text: str, name: str) -> bytes:
    """A Vim swap file: b0VIM header block (page 0) then the text."""
    header = b"b0VIM 9.0\x00" + b"\x00" * 14 + b"ada" + b"\x00" * 37 + b"web-1" + b"\x00" * 35
    header += name.encode() + b"\x00" * (1024 - len(header) - len(name))
    return header + text.encode()


def _zip(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, text)
    return buf.getvalue()


def _sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    db.commit()
    db.close()


def make_site(root: Path, leaks: bool) -> Path:
    """static/, assets/ and uploads/ with assets, plus the leftovers when ``leaks``."""
    for d in ("static/js", "assets/css", "uploads", "project/instance", "project/.git",
              "project/logs"):  # fmt: skip
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "static/js/app.js").write_text(APP_JS)
    (root / "static/views.py").write_text(VIEWS_PY)
    (root / "assets/css/site.css").write_text(SITE_CSS)
    (root / "uploads/report.pdf").write_bytes(b"%PDF-1.4\n%report\n")
    if not leaks:
        return root
    (root / "static/js/app.js.bak").write_text(APP_JS.replace("storefront", "storefront v1"))
    (root / "static/js/.app.js.swp").write_bytes(_swap_of(APP_JS, "app.js"))
    (root / "static/views.py~").write_text(VIEWS_PY)
    (root / "assets/dump.sql").write_text(SQL_DUMP)
    (root / "assets/.env").write_text(TWO_LINE_ENV)
    (root / "uploads/backup.zip").write_bytes(_zip("site/app.py", VIEWS_PY))
    _sqlite(root / "uploads/app.db")
    (root / "project/.env").write_text(TWO_LINE_ENV)
    (root / "project/.git/HEAD").write_text(GIT_HEAD)
    (root / "project/.git/index").write_bytes(
        b"DIRC\x00\x00\x00\x02\x00\x00\x00\x01" + b"\x00" * 40
    )
    (root / "project/instance/application.cfg").write_text(INSTANCE_CFG)
    (root / "project/logs/app.log").write_text(APP_LOG)
    (root / "legacy").mkdir(exist_ok=True)
    (root / "legacy/index.php.bak").write_text(PHP_SOURCE)
    return root


INDEX = (
    "<!doctype html><html><head><title>Shop</title>"
    '<link rel="stylesheet" href="/assets/css/site.css"></head><body><h1>Shop</h1>'
    '<a href="/uploads/report.pdf">report</a> <a href="/static/views.py">views</a>'
    '<a href="/legacy/index.php">old site</a>'
    '<script src="/static/js/app.js"></script></body></html>'
)


def served_app(root: Path) -> Flask:
    """Static files under /static (Flask), /assets and /uploads (send_from_directory);
    the project folder's dot-files, instance/ and logs/ served at / (a web root mistake
    when ``root/project`` holds them). JSON 404s."""
    app = Flask(__name__, static_folder=str(root / "static"), static_url_path="/static")

    @app.route("/")
    def index() -> Any:
        return INDEX

    @app.route("/assets/<path:name>")
    def assets(name: str) -> Any:
        return send_from_directory(root / "assets", name)

    @app.route("/uploads/<path:name>")
    def uploads(name: str) -> Any:
        return send_from_directory(root / "uploads", name)

    @app.route("/legacy/index.php")
    def legacy() -> Any:  # the page PHP rendered, kept as a static snapshot
        return "<!doctype html><html><body><h1>Welcome</h1></body></html>"

    @app.route("/legacy/<name>")
    def legacy_files(name: str) -> Any:  # an editor copy of the PHP source, if any
        return send_from_directory(root / "legacy", name, mimetype="text/plain")

    @app.route("/<path:name>")
    def project(name: str) -> Any:
        return send_from_directory(root / "project", name)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> Any:
        return {"error": "not found"}, 404

    return app


def leaky_app(root: Path) -> Flask:
    return served_app(make_site(root, leaks=True))


def fixed_app(root: Path) -> Flask:
    return served_app(make_site(root, leaks=False))


def catch_all_app() -> Flask:
    """Every path answers 200 with the same page (a SPA fallback), files included."""
    app = Flask(__name__, static_folder=None)

    @app.route("/", defaults={"p": ""})
    @app.route("/<path:p>")
    def page(p: str) -> Any:
        return Response(INDEX, mimetype="text/html")

    return app
