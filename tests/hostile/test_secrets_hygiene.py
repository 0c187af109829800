"""The user's own credentials never appear in clear in any report format or on stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask, request

from apigrade.report import FORMATS, renderer

TOKEN = "SUPERSECRETTOKEN1234567890"
COOKIE = "COOKIESECRET99887766"


def echo_app() -> Flask:
    """Reflects the caller's credentials everywhere a check might quote them."""
    app = Flask(__name__)

    @app.after_request
    def leak(resp: Any) -> Any:
        resp.headers["X-Debug-Auth"] = request.headers.get("Authorization", "")
        resp.headers["X-Powered-By"] = "PHP/5.1 " + request.headers.get("Cookie", "")
        return resp

    @app.route("/")
    def index() -> Any:
        return (
            "<html><title>echo</title><a href='/api/me?x=1'>me</a>"
            f"<pre>{request.headers.get('Authorization')} {request.headers.get('Cookie')}</pre>"
        )

    @app.route("/api/me")
    def me() -> Any:
        raise RuntimeError(f"auth failed for {request.headers.get('Authorization')}")

    return app


def test_credentials_are_masked_in_every_format(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = serve(echo_app())
    formats = [f for f in FORMATS if renderer(f) is not None]
    args = [sys.executable, "-m", "apigrade", "scan", url, "--no-store",
            "-H", f"Authorization: Bearer {TOKEN}", "-b", f"sid={COOKIE}; theme=dark",
            "--output-dir", str(tmp_path)]  # fmt: skip
    for fmt in formats:
        args += ["-f", fmt]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    outputs = list(tmp_path.iterdir())
    assert len(outputs) == len(formats)
    for path in outputs + [None]:
        text = proc.stderr + proc.stdout if path is None else path.read_text()
        assert TOKEN not in text, path
        assert COOKIE not in text, path
    json_report = (tmp_path / "apigrade.json").read_text()
    assert "S*" in json_report or "C*" in json_report  # the evidence shows the masked value
