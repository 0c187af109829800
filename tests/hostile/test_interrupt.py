"""Ctrl-C mid-scan: stops within 2 s, writes a partial report marked incomplete, leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask


def slow_app() -> Flask:
    app = Flask(__name__)

    @app.after_request
    def banner(resp: Any) -> Any:
        resp.headers["X-Powered-By"] = "PHP/5.1.6"
        return resp

    @app.route("/")
    def index() -> str:
        return "<title>slow</title>" + "".join(f"<a href='/p{i}'>p</a>" for i in range(40))

    @app.route("/<path:p>")
    def page(p: str) -> str:
        time.sleep(0.4)
        return "<html>page</html>"

    return app


def test_ctrl_c_writes_a_partial_report(serve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = serve(slow_app())
    out = tmp_path / "partial.json"
    db = tmp_path / "h.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-m", "apigrade", "scan", url, "-f", "json", "-o", str(out),
         "--db", f"sqlite:///{db}", "--concurrency", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    time.sleep(2.5)
    assert proc.poll() is None, "the scan ended before it could be interrupted"
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=10)
    assert time.monotonic() - t0 < 2.0
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    report = json.loads(out.read_text())
    assert report["complete"] is False
    assert any(f["check_id"] == "banner.version-disclosure" for f in report["findings"])
    try:
        os.killpg(proc.pid, 0)
        leftover = True
    except ProcessLookupError:
        leftover = False
    assert not leftover, "a process of the scan is still running"
    hist = subprocess.run(
        [sys.executable, "-m", "apigrade", "history", "--db", f"sqlite:///{db}", "-f", "json"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert "incomplete" in hist.stdout, hist.stdout + hist.stderr
