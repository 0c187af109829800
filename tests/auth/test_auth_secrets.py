"""Secrets of every identity type (passwords, client secrets, static and issued tokens,
session cookies) never appear in any output or store: every report format, stdout and
stderr, the history database, ``verify`` (which logs in again from the same file) and
``scan-many``. The fixture apps quote the caller's credentials in a traceback, so the
scanner really holds them in evidence it must mask."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from auth_apps import (
    CLIENT_SECRET,
    PASSWORD,
    STATIC_TOKEN,
    bearer_app,
    form_app,
    json_app,
    oauth_app,
)
from auth_files import ENV, write_auth

from apigrade.report import FORMATS, renderer
from helpers_scan import sqlite_dump

APPS = {
    "form": form_app,
    "json": json_app,
    "oauth2-client": oauth_app,
    "oauth2-password": oauth_app,
    "static": bearer_app,
    "command": bearer_app,
}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "apigrade", *args],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **ENV},
    )



def _assert_clean(text: str, secrets: list[str], where: object) -> None:
    for value in secrets:
        assert value not in text, (where, value[:6])
        assert value[:10] not in text and value[-10:] not in text, (where, value[:6])


@pytest.mark.parametrize("flow", sorted(APPS))
def test_identity_secrets_are_masked_everywhere(serve: Any, flow: str, tmp_path: Path) -> None:
    app = APPS[flow]()
    url = serve(app)
    path = write_auth(tmp_path, flow)
    db = tmp_path / "history.sqlite3"
    out = tmp_path / "out"
    formats = [f for f in FORMATS if renderer(f) is not None]
    args = ["scan", url, "--auth", str(path), "--db", f"sqlite:///{db}", "--output-dir", str(out)]
    args += ["--max-requests", "300"]
    for fmt in formats:
        args += ["-f", fmt]
    proc = _cli(*args)
    assert proc.returncode in (0, 1), proc.stderr
    issued = list(app.config["ISSUED"])  # tokens and session cookies the target handed out
    secrets = [PASSWORD, CLIENT_SECRET, STATIC_TOKEN, *issued]
    if flow in ("json", "oauth2-client", "oauth2-password", "form"):
        assert issued
    report = json.loads((out / "apigrade.json").read_text())
    assert any(f["check_id"] == "errors.verbose-error" for f in report["findings"])
    _assert_clean(proc.stdout + proc.stderr, secrets, "scan stdout/stderr")
    for file in sorted(out.iterdir()):
        _assert_clean(file.read_text(), secrets, file.name)
    verify = _cli("verify", report["scan_id"], "--db", f"sqlite:///{db}", "-f", "json")
    assert verify.returncode in (0, 1), verify.stderr
    _assert_clean(verify.stdout + verify.stderr, secrets + list(app.config["ISSUED"]), "verify")
    _assert_clean(sqlite_dump(db), secrets + list(app.config["ISSUED"]), "history database")
    stored = json.loads(
        _cli("show", report["scan_id"], "--db", f"sqlite:///{db}", "-f", "json").stdout
    )
    assert stored["identities"][0]["name"] == "alice"


def test_verify_logs_in_again_from_the_same_file(serve: Any, tmp_path: Path) -> None:
    app = json_app()
    url = serve(app)
    path = write_auth(tmp_path, "json")
    db = tmp_path / "h.sqlite3"
    proc = _cli("scan", url, "--auth", str(path), "--db", f"sqlite:///{db}", "-f", "json")
    assert proc.returncode in (0, 1), proc.stderr
    scan_id = json.loads(proc.stdout)["scan_id"]
    verify = _cli("verify", scan_id, "--db", f"sqlite:///{db}", "-f", "json")
    assert verify.returncode in (0, 1), verify.stderr
    result = json.loads(verify.stdout)
    assert any(f["check_id"] == "errors.verbose-error" for f in result["still_open"]), result
    assert app.config["SEEN"]["logins"] == 2


def test_scan_many_uses_the_identities_for_each_target(serve: Any, tmp_path: Path) -> None:
    apps = [json_app(), json_app()]
    urls = [serve(a) for a in apps]
    targets = tmp_path / "targets.txt"
    targets.write_text("\n".join(urls) + "\n")
    path = write_auth(tmp_path, "json")
    out = tmp_path / "fleet.json"
    proc = _cli(
        "scan-many", str(targets), "--auth", str(path), "--no-store", "-f", "json", "-o", str(out),
        "--max-requests", "250",
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    rows = json.loads(out.read_text())
    assert [r["status"] for r in rows] == ["completed", "completed"], rows
    assert all(a.config["SEEN"]["logins"] == 1 for a in apps)
    secrets = [PASSWORD, *apps[0].config["ISSUED"], *apps[1].config["ISSUED"]]
    _assert_clean(proc.stdout + proc.stderr + out.read_text(), secrets, "scan-many")
