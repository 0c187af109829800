"""Hostile bodies, timing and malformed HTTP: the engine survives each, scans go on."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from hostile_server import BEHAVIOURS, MEASURED_CLI, HostileServer, send  # noqa: E402

from apigrade.engine.client import Engine, EngineConfig  # noqa: E402
from apigrade.engine.http import Exchange, Probe  # noqa: E402
from apigrade.engine.target import Target  # noqa: E402

MEASURED_SCAN = MEASURED_CLI  # the CLI, recording its own peak RSS (hostile_server.py)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    srv = HostileServer()
    yield srv
    srv.close()


def fetch(srv: HostileServer, path: str, timeout: float = 2.0) -> tuple[Exchange | None, Engine]:
    async def go() -> tuple[Exchange | None, Engine]:
        cfg = EngineConfig(timeout=timeout)
        async with Engine(Target.parse(srv.url), cfg) as engine:
            return await engine.send(Probe(url=srv.url.rstrip("/") + path)), engine

    return asyncio.run(go())


@pytest.mark.parametrize("path", ["/huge", "/endless"])
def test_large_and_endless_bodies_are_capped(hostile: HostileServer, path: str) -> None:
    t0 = time.monotonic()
    ex, _ = fetch(hostile, path)
    assert ex is not None and ex.response.truncated
    assert len(ex.response.body) == 2 * 1024 * 1024
    assert time.monotonic() - t0 < 10


def test_gzip_bomb_refused(hostile: HostileServer) -> None:
    ex, _ = fetch(hostile, "/bomb", timeout=10)
    assert ex is not None and ex.response.truncated
    assert len(ex.response.body) <= 2 * 1024 * 1024


def test_unrequested_brotli_kept_raw(hostile: HostileServer) -> None:
    ex, _ = fetch(hostile, "/brotli")
    assert ex is not None and len(ex.response.body) == 256 * 64
    assert isinstance(ex.text, str)


def test_invalid_utf8_and_binary_decode_leniently(hostile: HostileServer) -> None:
    ex, _ = fetch(hostile, "/utf8")
    assert ex is not None and "\ufffd" in ex.text and "binary" in ex.text


@pytest.mark.parametrize("path", ["/slow", "/silent"])
def test_slow_and_silent_servers_time_out(hostile: HostileServer, path: str) -> None:
    t0 = time.monotonic()
    ex, engine = fetch(hostile, path, timeout=1.0)
    assert ex is None
    assert time.monotonic() - t0 < 4  # 1.5 x the timeout, plus slack for a noisy machine
    assert engine.stats.errors and path in engine.stats.errors[0]


@pytest.mark.parametrize("path", ["/reset", "/badstatus", "/neglen", "/http09"])
def test_broken_responses_are_recorded_not_raised(hostile: HostileServer, path: str) -> None:
    ex, engine = fetch(hostile, path)
    assert ex is None or ex.status in (200, 9999)
    if ex is None:
        assert engine.stats.errors


@pytest.mark.parametrize("path", ["/dupes", "/bigheader"])
def test_odd_headers_are_survivable(hostile: HostileServer, path: str) -> None:
    ex, engine = fetch(hostile, path)
    if ex is None:
        assert engine.stats.errors  # refused by the HTTP parser: recorded, not raised
        return
    assert ex.response.header_all("server") in ([], ["a/1.0", "b/2.0"])
    [c.name for c in ex.response.cookies]  # parsing broken Set-Cookie never raises


@pytest.mark.parametrize(
    "path", ["/loop", "/to-metadata", "/to-private", "/to-other-loopback", "/to-https"]
)
def test_redirects_never_leave_scope(hostile: HostileServer, path: str) -> None:
    ex, engine = fetch(hostile, path)
    assert ex is not None and ex.status == 302
    assert all(p in ("/loop", path) for p in hostile.paths)
    assert engine.requests_sent <= 6


def test_tls_handshake_that_stalls_times_out() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)  # accepts TCP, never speaks TLS
    port = sock.getsockname()[1]
    try:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "apigrade", "scan", f"https://127.0.0.1:{port}/",
             "--timeout", "1"],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert proc.returncode == 3, proc.stderr
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert time.monotonic() - t0 < 15
    finally:
        sock.close()


def test_full_scan_of_a_hostile_site_completes_with_findings(tmp_path: Path) -> None:
    links = "".join(f"<a href='{p}'>{p}</a>" for p in BEHAVIOURS if p != "/")
    page = f"<html><title>Hostile</title><body>{links}</body></html>".encode()
    behaviours = dict(BEHAVIOURS)
    behaviours["/"] = lambda c: send(c, "200 OK", page, "Content-Type: text/html",
                                     "X-Powered-By: PHP/5.1.6")  # fmt: skip
    srv = HostileServer(behaviours=behaviours)
    out = tmp_path / "r.json"
    try:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", MEASURED_SCAN, str(tmp_path / "peak"), "scan", srv.url,
             "--timeout", "2", "-f", "json", "-o", str(out)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        elapsed = time.monotonic() - t0
    finally:
        srv.close()
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert any(f["check_id"] == "banner.version-disclosure" for f in report["findings"])
    assert any("/slow" in e or "/silent" in e for e in report["errors"])
    assert elapsed < 60
    peak_mib = int((tmp_path / "peak").read_text()) / 1024
    assert peak_mib < 300, peak_mib
