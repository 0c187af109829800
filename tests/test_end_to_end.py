"""Whole scans: hardened app under gunicorn, the demo target, in-process vs socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from apigrade.demo.app import create_app as create_demo_app
from apigrade.demo.server import serve_demo
from apigrade.model import Severity
from apigrade.report.json import json_schema
from conftest import scan_app, scan_url

APPS = Path(__file__).parent / "apps"


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def gunicorn_hardened() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "2",
         "--chdir", str(APPS), "hardened:app"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_hardened_app_under_gunicorn_grades_a(gunicorn_hardened: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "apigrade", "scan", gunicorn_hardened, "-f", "json", "-o", str(out)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    jsonschema.validate(report, json.loads(json_schema()))
    above_low = [f for f in report["findings"] if Severity(f["severity"]).rank > 1]
    assert above_low == [], above_low
    assert report["grade"] == "A", report
    assert "gunicorn" in (report["fingerprint"]["server"] or "")


def test_demo_target_grades_below_c_with_evidence_and_fixes() -> None:
    with serve_demo() as url:
        report = scan_url(url)
    assert report.grade in ("D", "F"), (report.score, report.findings)
    assert report.findings
    assert all(f.remediation and f.evidence for f in report.findings)
    assert "flask" in report.fingerprint.frameworks


def test_in_process_and_socket_give_the_same_finding_ids(serve) -> None:  # type: ignore[no-untyped-def]
    from werkzeug.serving import WSGIRequestHandler

    class NoBanner(WSGIRequestHandler):
        server_version = "test"
        sys_version = ""

        def log(self, *a: object) -> None:
            pass

    app = create_demo_app()
    url = serve(app, handler=NoBanner)
    a = scan_app(app)
    b = scan_url(url)
    assert a.findings
    assert sorted(f.id for f in a.findings) == sorted(f.id for f in b.findings)
    assert a.score == b.score
