"""The service through its HTTP API on a real socket: auth, input checks, scans, reports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import (  # noqa: E402
    API_KEY,
    APIGRADE,
    error_lines,
    free_port,
    run_cli,
    serve_asgi,
    serve_targets,
    tiny_app,
    wait_for,
)

from apigrade.engine.scanner import ScanOptions  # noqa: E402
from apigrade.fleet.results import Results  # noqa: E402
from apigrade.model import ScanReport  # noqa: E402
from apigrade.service.app import ServiceSettings, create_app  # noqa: E402
from apigrade.service.auth import Auth  # noqa: E402
from apigrade.service.scope import AllowList  # noqa: E402

pytestmark = pytest.mark.fleet
KEY = {"X-API-Key": API_KEY}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[str]:
    settings = ServiceSettings(
        auth=Auth(API_KEY, max_failures=5),
        allow=AllowList(["127.0.0.1"]),
        results=Results(f"sqlite:///{tmp_path / 'svc.sqlite'}"),
        base=ScanOptions(max_requests=60),
    )
    with serve_asgi(create_app(settings)) as url:
        yield url
    settings.results.close()


def _json_error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    message = r.json()["error"]
    assert isinstance(message, str) and message
    return message


def test_auth_is_required(service: str) -> None:
    with httpx.Client(base_url=service) as c:
        assert c.get("/healthz").status_code == 200
        r = c.get("/api/scans")
        assert "X-API-Key" in _json_error(r, 401)
        assert r.headers["www-authenticate"].startswith("ApiKey")
        assert _json_error(c.get("/api/scans", headers={"X-API-Key": "wrong"}), 403)
        assert _json_error(c.post("/api/scans", json={"url": "http://127.0.0.1/"}), 401)
        assert _json_error(c.get("/api/openapi.json"), 401)
        assert c.get("/api/scans", headers=KEY).status_code == 200
        assert c.get("/openapi.json").status_code == 404  # only behind the key
        docs = c.get("/docs")  # issue 13: interactive docs exist, behind the key only
        assert docs.status_code == 303 and docs.headers["location"] == "/login"


def test_failed_keys_are_throttled(service: str) -> None:
    with httpx.Client(base_url=service) as c:
        for _ in range(5):
            _json_error(c.get("/api/targets", headers={"X-API-Key": "nope-nope"}), 403)
        r = c.get("/api/targets", headers={"X-API-Key": "nope-nope"})  # wrong keys wait now
        assert "too many" in _json_error(r, 429)
        assert r.headers["retry-after"] == "60"
        # issue 12: the right key is never refused because others failed from this address
        assert c.get("/api/targets", headers=KEY).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"url": 5}, 422, "url"),
        ({}, 422, "url"),
        ({"url": "ftp://127.0.0.1/"}, 422, "scheme"),
        ({"url": "http://10.9.8.7/"}, 403, "not allowed"),
        ({"url": "http://localhost/"}, 403, "not allowed"),
        ({"url": "http://127.0.0.1/", "headers": ["no colon"]}, 422, "header"),
        ({"url": "http://127.0.0.1/", "max_requests": 0}, 422, "max_requests"),
        ({"url": "http://127.0.0.1/", "surprise": 1}, 422, "surprise"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(
    service: str, body: dict[str, Any], status: int, words: str
) -> None:
    r = httpx.post(f"{service}/api/scans", json=body, headers=KEY)
    assert words in _json_error(r, status)


def test_malformed_json_and_bad_ids(service: str) -> None:
    r = httpx.post(f"{service}/api/scans", content=b"{not json", headers={
        **KEY, "Content-Type": "application/json"})
    assert "invalid request" in _json_error(r, 422)
    assert _json_error(httpx.get(f"{service}/api/scans/{'0' * 32}", headers=KEY), 404)
    assert _json_error(httpx.get(f"{service}/api/scans/bad%20id", headers=KEY), 422)
    r = httpx.get(f"{service}/api/scans", params={"limit": 0}, headers=KEY)
    assert "limit" in _json_error(r, 422)


def test_submit_scan_and_fetch_its_report(service: str) -> None:
    with serve_targets(1, lambda i: tiny_app("svc")) as (target,), httpx.Client(
        base_url=service, headers=KEY, timeout=30
    ) as c:
        r = c.post("/api/scans", json={"url": target, "headers": ["X-Test: 1"]})
        assert r.status_code == 202, r.text
        accepted = r.json()
        assert accepted["status"] == "running" and accepted["target"] == target
        scan_id = accepted["scan_id"]

        def done() -> dict[str, Any] | None:
            data = c.get(accepted["links"]["self"]).json()
            return data if data["status"] != "running" else None

        data = wait_for(done, 30, "the scan to finish", 0.2)
        assert data["status"] == "completed"
        report = ScanReport.model_validate(data["report"])
        assert report.scan_id == scan_id and report.target == target

        r = c.get(f"/api/scans/{scan_id}/report")
        assert r.headers["content-type"] == "application/json"
        assert ScanReport.model_validate_json(r.text).grade == data["grade"]
        r = c.get(f"/api/scans/{scan_id}/report", params={"format": "html"})
        assert r.headers["content-type"].startswith("text/html")
        assert "sandbox" in r.headers["content-security-policy"]

        listed = c.get("/api/scans", params={"target": target}).json()["scans"]
        assert [s["scan_id"] for s in listed] == [scan_id]
        targets = c.get("/api/targets").json()["targets"]
        assert any(t["target"] == target and t["grade"] == data["grade"] for t in targets)


def test_openapi_and_security_headers(service: str) -> None:
    r = httpx.get(f"{service}/api/openapi.json", headers=KEY)
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/scans", "/api/scans/{scan_id}", "/api/scans/{scan_id}/report"} <= set(spec["paths"])
    schemes = spec["components"]["securitySchemes"]
    assert any(s.get("name") == "X-API-Key" and s.get("in") == "header" for s in schemes.values())
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"


def test_serve_command_serves_until_stopped(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [APIGRADE, "serve", "--port", str(port), "--allow", "127.0.0.1", "--db",
         f"sqlite:///{tmp_path / 's.sqlite'}"],
        env={**os.environ, "APIGRADE_API_KEY": API_KEY}, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )
    try:
        def up() -> httpx.Response | None:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/targets", headers=KEY)
            except httpx.TransportError:
                return None

        r = wait_for(up, 30, "apigrade serve", 0.2)
        assert r.status_code == 200 and r.json() == {"targets": []}
        assert "server" not in r.headers  # no banner
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
    assert f"serving on http://127.0.0.1:{port}/" in stderr and "Traceback" not in stderr


def test_serve_command_refuses_bad_configuration(tmp_path: Path) -> None:
    env = {"APIGRADE_API_KEY": "", "APIGRADE_DB": f"sqlite:///{tmp_path / 'x.sqlite'}"}
    r = run_cli("serve", env=env)
    assert r.returncode == 2 and "API key" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("serve", "--api-key", "long-enough-key", "--allow", "http://x/", env=env)
    assert r.returncode == 2 and "--allow" in r.stderr and len(error_lines(r.stderr)) == 1
    r = run_cli("serve", "--api-key", "short", "--allow", "x", env=env)
    assert r.returncode == 2 and "8 characters" in r.stderr
