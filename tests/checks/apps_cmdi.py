"""Flask apps for the OS command injection check: shell=True sinks and their fixed twins."""

from __future__ import annotations

import ipaddress
import re
import subprocess
import time
from typing import Any

from flask import Flask, abort, request

INDEX = (
    "<!doctype html><html><head><title>Net tools</title></head><body>"
    '<a href="/api/ping?host=127.0.0.1">ping</a> '
    '<a href="/api/files?path=reports">files</a> '
    '<a href="/api/items?limit=5">items</a> '
    '<a href="/net/trace/127.0.0.1">trace</a> '
    '<form method="post" action="/tools/lookup">'
    '<input name="domain" value="example.com"><button>Look up</button></form>'
    "</body></html>"
)


def _run_shell(command: str) -> str:
    done = subprocess.run(
        command, shell=True, capture_output=True, text=True, timeout=8, check=False
    )
    return done.stdout + done.stderr


def flawed_app() -> Flask:
    """A ping tool and a file lister that format the value into a shell command (output
    comes back), and a DNS lookup form that runs one blind (output discarded)."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return INDEX

    @app.route("/api/ping")
    def ping() -> Any:
        host = request.args.get("host", "")
        # "ping" is not installed everywhere: the shell's own error text comes back then
        return {"output": _run_shell(f"ping -c 1 -W 1 {host}")}

    @app.route("/api/files")
    def files() -> Any:
        path = request.args.get("path", "")
        return {"listing": _run_shell(f"ls -1 'data/{path}'")}

    @app.route("/api/items")
    def items() -> Any:
        return {"limit": request.args.get("limit", "")}

    @app.route("/net/trace/<host>")
    def trace(host: str) -> Any:  # a path segment reaches the shell
        return {"trace": _run_shell(f"traceroute -m 2 {host}")}

    @app.route("/tools/lookup", methods=["GET", "POST"])
    def lookup() -> Any:
        domain = request.values.get("domain", "")
        _run_shell(f"true {domain} >/dev/null 2>&1")  # blind: only the exit matters
        return "<p>Lookup queued.</p>"

    return app


_NAME = re.compile(r"[A-Za-z0-9.-]{1,253}")


def fixed_app() -> Flask:
    """The same tools: argument lists without a shell, values checked first. The answer
    echoes the value (a plain reflection must not count as command output)."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return INDEX

    @app.route("/api/ping")
    def ping() -> Any:
        host = request.args.get("host", "")
        try:
            addr = str(ipaddress.ip_address(host))
        except ValueError:
            return {"error": f"not an IP address: {host}"}, 400
        done = subprocess.run(
            ["echo", "PING", addr], shell=False, capture_output=True, text=True, check=False
        )
        return {"output": done.stdout}

    @app.route("/api/files")
    def files() -> Any:
        path = request.args.get("path", "")
        done = subprocess.run(
            ["echo", "listing of", path], shell=False, capture_output=True, text=True, check=False
        )
        return {"listing": done.stdout}  # the value reflected as an argument, never a shell

    @app.route("/api/items")
    def items() -> Any:
        return {"limit": request.args.get("limit", "")}

    @app.route("/net/trace/<host>")
    def trace(host: str) -> Any:
        try:
            addr = str(ipaddress.ip_address(host))
        except ValueError:
            return {"error": f"not an IP address: {host}"}, 400
        return {"trace": f"trace to {addr}"}

    @app.route("/tools/lookup", methods=["GET", "POST"])
    def lookup() -> Any:
        domain = request.values.get("domain", "")
        if not _NAME.fullmatch(domain):
            abort(400)
        return f"<p>Lookup queued for {domain}.</p>"

    return app


def sleepy_word_app() -> Flask:
    """No shell at all, but slow whenever the value mentions "sleep": the zero-delay
    control must reject it."""
    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:
        return '<a href="/api/ping?host=127.0.0.1">ping</a>'

    @app.route("/api/ping")
    def ping() -> Any:
        host = request.args.get("host", "")
        if "sleep" in host:
            time.sleep(2.5)
        return {"host": host}

    return app
