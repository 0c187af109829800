"""apigrade monitor: scheduled re-scans, regressions, signed webhooks."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import run_cli, tiny_app  # noqa: E402

from apigrade.demo.app import create_app as demo_app  # noqa: E402
from apigrade.demo.server import serve_wsgi  # noqa: E402
from apigrade.errors import UsageError  # noqa: E402
from apigrade.monitor import parse_every, regressions, sign, verify_signature  # noqa: E402

pytestmark = pytest.mark.fleet
SECRET = "whsec-test-123"


class Switch:
    """A WSGI app that serves ``good`` until ``broken`` is set (a bad deploy)."""

    def __init__(self) -> None:
        self.good = tiny_app("good")
        self.bad = demo_app()
        self.broken = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return (self.bad if self.broken else self.good)(environ, start_response)


def receiver(store: list[tuple[bytes, dict[str, str]]]) -> Flask:
    app = Flask("hooks")
    lock = threading.Lock()

    @app.post("/hook")
    def hook() -> Any:
        with lock:
            store.append((request.get_data(), dict(request.headers)))
        return "", 204

    return app


def test_grade_drop_sends_one_signed_webhook(tmp_path: Path) -> None:
    site = Switch()
    hooks: list[tuple[bytes, dict[str, str]]] = []
    db = f"sqlite:///{tmp_path / 'mon.sqlite'}"
    with serve_wsgi(site) as target, serve_wsgi(receiver(hooks)) as hook_base:
        targets = tmp_path / "t.txt"
        targets.write_text(target + "\n")
        args = ["monitor", str(targets), "--once", "--db", db, "--max-requests", "60",
                "--webhook", hook_base + "hook"]
        env = {"APIGRADE_WEBHOOK_SECRET": SECRET}
        first = run_cli(*args, env=env)
        assert first.returncode == 0, first.stderr
        assert "0 regressions" in first.stderr and hooks == []  # the baseline

        again = run_cli(*args, env=env)  # nothing changed: still quiet
        assert again.returncode == 0 and hooks == []

        site.broken = True
        third = run_cli(*args, env=env)
        assert third.returncode == 0, third.stderr
        assert "1 regressions" in third.stderr and "grade-drop" in third.stderr
    assert len(hooks) == 1
    body, headers = hooks[0]
    assert headers["X-Apigrade-Signature"] == sign(SECRET, body)
    assert verify_signature(SECRET, body, headers["X-Apigrade-Signature"])
    assert not verify_signature("other", body, headers["X-Apigrade-Signature"])
    alert = json.loads(body)
    assert alert["target"] == target
    assert set(alert["reasons"]) == {"grade-drop", "new-high-finding"}
    assert alert["previous"]["grade"] in "AB" and alert["current"]["grade"] == "F"
    assert all(f["severity"] in ("high", "critical") for f in alert["new_findings"])


def test_monitor_usage_errors(tmp_path: Path) -> None:
    targets = tmp_path / "t.txt"
    targets.write_text("http://127.0.0.1:9/\n")
    r = run_cli("monitor", str(targets), "--once", "--webhook", "http://127.0.0.1:9/h",
                env={"APIGRADE_WEBHOOK_SECRET": ""})
    assert r.returncode == 2 and "webhook-secret" in r.stderr
    r = run_cli("monitor", str(targets), "--every", "soon")
    assert r.returncode == 2 and "--every" in r.stderr


def test_parse_every_and_regressions() -> None:
    assert parse_every("90s") == 90 and parse_every("1h30m") == 5400 and parse_every("1d") == 86400
    for text in ("", "5", "1x", "5s"):
        with pytest.raises(UsageError):
            parse_every(text)
    from apigrade.engine.scanner import scan_sync

    good = scan_sync(tiny_app("g"), max_requests=40)
    bad = scan_sync(demo_app(), max_requests=40)
    assert regressions(None, bad) is None  # the first scan is the baseline
    assert regressions(good, good) is None
    assert regressions(bad, good) is None  # getting better is not an alert
    alert = regressions(good, bad)
    assert alert is not None and "grade-drop" in alert.reasons
