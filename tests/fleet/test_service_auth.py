# ruff: noqa: F811 - auth_env is a fixture imported from auth_files, requested by name
"""``apigrade serve --auth FILE`` and ``apigrade mcp --auth FILE`` (issue 17, item 4): the
operator's identities file logs in every scan the server runs; callers can never set it;
no password or token reaches an API answer, a stored row or the server's log."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))
from auth_apps import PASSWORD, json_app  # noqa: E402
from auth_files import auth_env, write_auth  # noqa: E402,F401 (auth_env: a fixture)
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import (  # noqa: E402
    API_KEY,
    APIGRADE,
    error_lines,
    free_port,
    run_cli,
    serve_asgi,
    wait_for,
)
from test_mcp_stdio import McpClient, _call  # noqa: E402

from apigrade.model import ScanReport  # noqa: E402

pytestmark = pytest.mark.fleet
KEY = {"X-API-Key": API_KEY}
AUTH_ONLY = "errors.verbose-error"  # /api/crash: a traceback, to a logged-in caller only


def _secrets(app: Any) -> list[str]:
    issued = list(app.config["ISSUED"])
    assert issued, "the scan never logged in"
    return [PASSWORD, *issued]


def _db_text(path: Path) -> str:
    """Every value of every row of the history database, as one string."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return "\n".join(
            repr(row) for t in tables for row in db.execute(f'SELECT * FROM "{t}"')  # noqa: S608
        )


def _scan_through_api(url: str, target: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, headers=KEY, timeout=30) as c:
        refused = c.post("/api/scans", json={"url": target, "auth": "/etc/passwd"})
        assert refused.status_code == 422 and "auth" in refused.json()["error"]
        r = c.post("/api/scans", json={"url": target, "max_requests": 400})
        assert r.status_code == 202, r.text
        scan_id = r.json()["scan_id"]

        def done() -> dict[str, Any] | None:
            data = c.get(f"/api/scans/{scan_id}").json()
            return data if data["status"] != "running" else None

        data = wait_for(done, 180, "the authenticated scan", 0.3)
        data["_listed"] = c.get("/api/scans").text + c.get("/api/targets").text
        data["_report_text"] = c.get(f"/api/scans/{scan_id}/report").text
        data["_report_html"] = c.get(f"/api/scans/{scan_id}/report",
                                     params={"format": "html"}).text
        return data


def test_serve_auth_logs_in_every_scan_and_keeps_secrets(
    serve: Any, tmp_path: Path, auth_env: dict[str, str]
) -> None:
    app = json_app()
    target = serve(app)
    auth = write_auth(tmp_path, "json")
    db = tmp_path / "svc.sqlite"
    port = free_port()
    proc = subprocess.Popen(
        [APIGRADE, "serve", "--port", str(port), "--allow", "127.0.0.1", "--db",
         f"sqlite:///{db}", "--auth", str(auth), "--max-requests", "400"],
        env={**os.environ, "APIGRADE_API_KEY": API_KEY}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        def up() -> bool:
            try:
                return httpx.get(f"{url}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, 30, "apigrade serve --auth", 0.2)
        data = _scan_through_api(url, target)
    finally:
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    assert data["status"] == "completed", (data.get("error"), stderr)
    report = ScanReport.model_validate(data["report"])
    assert report.identities is not None
    (ident,) = report.identities
    assert (ident.name, ident.role, ident.login) == ("alice", "user", "ok")
    assert ident.requests > 10
    assert AUTH_ONLY in {f.check_id for f in report.findings}, report.errors
    assert app.config["SEEN"]["logins"] >= 1
    # no password or token anywhere: API answers, stored rows, the server's log
    seen = [stdout, stderr, repr(data), _db_text(db)]
    for secret in _secrets(app):
        for where, text in zip(["stdout", "stderr", "api", "db"], seen, strict=True):
            assert secret not in text, f"{where} holds a secret"
    assert "Traceback" not in stderr


def test_without_auth_the_service_scan_stays_anonymous(serve: Any, tmp_path: Path) -> None:
    """The control: the same scan through the service, no --auth, does not reach the flaw."""
    from apigrade.fleet.results import Results
    from apigrade.scan_options import ScanOptions
    from apigrade.service.app import ServiceSettings, create_app
    from apigrade.service.auth import Auth
    from apigrade.service.scope import AllowList

    app = json_app()
    target = serve(app)
    settings = ServiceSettings(
        auth=Auth(API_KEY), allow=AllowList(["127.0.0.1"]),
        results=Results(f"sqlite:///{tmp_path / 'a.sqlite'}"),
        base=ScanOptions(max_requests=400),
    )  # fmt: skip
    with serve_asgi(create_app(settings)) as url:
        data = _scan_through_api(url, target)
    settings.results.close()
    report = ScanReport.model_validate(data["report"])
    assert report.identities is None
    assert AUTH_ONLY not in {f.check_id for f in report.findings}
    assert app.config["SEEN"]["logins"] == 0


def test_serve_settings_take_the_operator_file_only(tmp_path: Path, auth_env: dict[str, str]) -> None:
    from apigrade.mcp_server import McpSettings
    from apigrade.service.app import ServiceSettings

    auth = write_auth(tmp_path, "json")
    svc = ServiceSettings.build(api_key=API_KEY, allow=["127.0.0.1"],
                                db_url=f"sqlite:///{tmp_path / 'b.sqlite'}", auth_file=auth)
    assert svc.base.auth == str(auth.resolve())
    svc.results.close()
    mcp = McpSettings.build(allow=["127.0.0.1"], db_url=None, store=False, max_requests=50,
                            timeout=5.0, auth_file=auth)
    assert mcp.base.auth == str(auth.resolve())


@pytest.mark.parametrize("problem", ["missing env", "bad key", "no file"])
def test_a_bad_auth_file_stops_serve_and_mcp_before_they_start(
    tmp_path: Path, auth_env: dict[str, str], problem: str
) -> None:
    auth = write_auth(tmp_path, "form")  # password_env = ALICE_PW
    env = {"APIGRADE_API_KEY": API_KEY, "APIGRADE_DB": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    if problem == "missing env":
        env["ALICE_PW"] = ""
        words = "ALICE_PW"
    elif problem == "bad key":
        auth.write_text(auth.read_text() + 'surprise = "x"\n')
        words = "unknown key"
    else:
        auth = tmp_path / "nope.toml"
        words = "nope.toml"
    port = str(free_port())
    for args in (["serve", "--port", port, "--allow", "127.0.0.1"], ["mcp", "--allow", "127.0.0.1"]):
        r = run_cli(*args, "--auth", str(auth), env=env, input="")
        assert r.returncode == 2, (args, r.stderr)
        lines = error_lines(r.stderr)
        assert len(lines) == 1 and words in lines[0], r.stderr
        assert "Traceback" not in r.stderr and "serving on" not in r.stderr
        assert PASSWORD not in r.stderr


def test_mcp_auth_logs_in_and_callers_cannot_change_it(
    serve: Any, tmp_path: Path, auth_env: dict[str, str]
) -> None:
    app = json_app()
    target = serve(app)
    auth = write_auth(tmp_path, "json")
    db = tmp_path / "m.sqlite"
    client = McpClient("--allow", "127.0.0.1", "--db", f"sqlite:///{db}", "--max-requests",
                       "400", "--auth", str(auth))  # secrets: this process's environment
    try:
        client.request("initialize", {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "pytest", "version": "1"},
        })  # fmt: skip
        client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools = client.request("tools/list")["result"]["tools"]
        scan_tool = next(t for t in tools if t["name"] == "scan")
        assert set(scan_tool["inputSchema"]["properties"]) == {"url", "max_requests"}

        result = _call(client, "scan", url=target)
        assert not result.get("isError"), result
        summary = result["structuredContent"]
        assert [(i["name"], i["login"]) for i in summary["identities"]] == [("alice", "ok")]
        assert AUTH_ONLY in {f["check_id"] for f in summary["top_findings"]} or any(
            f["check_id"] == AUTH_ONLY
            for f in _call(client, "get", scan_id=summary["scan_id"])["structuredContent"][
                "report"]["findings"]
        )
        got = _call(client, "get", scan_id=summary["scan_id"])

        # an "auth" argument is no parameter of the tool: refused, or ignored (the
        # operator's file still logs in, nothing of the caller's is read)
        other = _call(client, "scan", url=target, auth=str(tmp_path / "caller.toml"))
        if not other.get("isError"):
            again = other["structuredContent"]["identities"]
            assert [(i["name"], i["login"]) for i in again] == [("alice", "ok")]
    finally:
        stderr = client.close()
    assert "Traceback" not in stderr
    texts = [stderr, repr(result), repr(got), repr(other), _db_text(db)]
    for secret in _secrets(app):
        assert all(secret not in text for text in texts)
