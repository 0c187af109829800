"""The user's own credentials never appear in clear in any output or store: every report
format, stderr, the history database (every column), scan-many, the service's API and
dashboard. Values of every shape, each reflected by a real target everywhere it can."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, jsonify, redirect, request

from apigrade.engine.scanner import ScanOptions
from apigrade.fleet.results import Results
from apigrade.fleet.runner import scan_one
from apigrade.fleet.targets import FleetTarget
from apigrade.redact import mask
from apigrade.report import FORMATS, renderer
from helpers_scan import sqlite_dump

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


# -- values of every shape ----------------------------------------------------------------
def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


CLIENT_SECRET = "ClientSecret-7f3a9b2c41"  # a custom header name
APIKEY = "ApiKeyValue-5e8d1c0b99"  # "apikey", not on any list of names
BASIC_PASS = "BasicPass-93kd02mx"
BASIC = _b64(f"alice:{BASIC_PASS}")
SID = "CookieSecret-0a1b2c3d4e"
IDENTITY = "IdentityToken-77ab23cd"
SPEC_PASS = "SpecPass-44zz81qq"
TARGET_PASS = "TargetPass-19xx02yy"
SVC_PASS = "SvcUrlPass-55tt66uu"
#: every spelling that must never be seen in clear
FORBIDDEN = [
    CLIENT_SECRET, APIKEY, BASIC, f"alice:{BASIC_PASS}", BASIC_PASS, SID, IDENTITY,
    SPEC_PASS, _b64(f"specuser:{SPEC_PASS}"), TARGET_PASS, SVC_PASS,
]  # fmt: skip
#: a fragment of the invalid values below; shown nowhere either
BAD_FRAGMENT = "SUPERS"
BAD_HEADER_VALUES = {"non-ASCII": "Bearer SUPERSÉCRET123", "CRLF": "SUPERSECRET123\r\nX-Evil: 1"}


def reflecting_app() -> Flask:
    """Reflects every request header and cookie into its headers, bodies and errors."""
    app = Flask(__name__)

    def dump() -> str:
        lines = [f"{k}: {v}" for k, v in request.headers.items()]
        lines += [f"cookie {k}={v}" for k, v in request.cookies.items()]
        return "\n".join(lines)

    @app.after_request
    def leak(resp: Any) -> Any:
        for i, (name, value) in enumerate(request.headers.items()):
            resp.headers[f"X-Echo-{i}-{name}"] = value
        resp.headers["X-Powered-By"] = "PHP/5.1 " + request.headers.get("Cookie", "")
        resp.headers["Server"] = "Werkzeug/0.9 " + request.headers.get("Authorization", "")
        resp.set_cookie("echo", request.cookies.get("sid", "none"))
        return resp

    @app.route("/")
    def index() -> Any:
        return (
            "<html><title>echo</title><a href='/api/me?x=1'>me</a> <a href='/api/echo'>e</a>"
            f" <a href='/go'>go</a><form action='/api/me'><input name='q'></form>"
            f"<pre>{dump()}</pre></html>"
        )

    @app.route("/api/echo")
    def echo() -> Any:
        return jsonify(headers=dict(request.headers), cookies=request.cookies,
                       password=request.headers.get("apikey"), token=request.cookies.get("sid"))  # fmt: skip

    @app.route("/api/me")
    def me() -> Any:
        trace = (
            'Traceback (most recent call last):\n  File "/app/views.py", line 12, in me\n'
            f"RuntimeError: auth failed for\n{dump()}\n"
        )
        return trace, 500, {"Content-Type": "text/plain"}

    @app.route("/go")
    def go() -> Any:
        return redirect("/api/echo?auth=" + request.headers.get("X-Client-Secret", ""))

    @app.route("/openapi.json")
    def spec() -> Any:
        return jsonify({
            "openapi": "3.0.0",
            "info": {"title": "echo", "version": "1", "description": dump()},
            "paths": {"/api/echo": {"get": {"responses": {"200": {"description": "ok"}}}},
                      "/api/me": {"get": {"parameters": [{"name": "id", "in": "query"}],
                                          "responses": {"200": {"description": "ok"}}}}},
        })  # fmt: skip

    return app


def _assert_clean(text: str, where: object) -> None:
    for value in FORBIDDEN:
        assert value not in text, (where, value)
        # nor a piece of one, left by a quote shortened before it was masked
        assert value[:10] not in text and value[-10:] not in text, (where, value)
    assert BAD_FRAGMENT not in text, where



def _cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "apigrade", *args], capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def _with_userinfo(url: str, user: str, password: str) -> str:
    return url.replace("http://", f"http://{user}:{password}@", 1)


def test_every_shape_of_secret_is_masked_in_every_output_and_row(  # type: ignore[no-untyped-def]
    serve, tmp_path: Path
) -> None:
    url = serve(reflecting_app())
    db = tmp_path / "history.sqlite3"
    out = tmp_path / "out"
    formats = [f for f in FORMATS if renderer(f) is not None]
    args = [
        "scan", _with_userinfo(url, "tuser", TARGET_PASS), "--db", f"sqlite:///{db}",
        "-H", f"X-Client-Secret: {CLIENT_SECRET}", "-H", f"apikey: {APIKEY}",
        "-H", f"Authorization: Basic {BASIC}", "-b", f"sid={SID}; theme=dark",
        "--identity", f"bob:Authorization: Bearer {IDENTITY}",
        "--spec", _with_userinfo(url, "specuser", SPEC_PASS) + "openapi.json",
        "--max-requests", "200", "--output-dir", str(out),
    ]  # fmt: skip
    for fmt in formats:
        args += ["-f", fmt]
    proc = _cli(*args)
    assert proc.returncode in (0, 1), proc.stderr
    files = sorted(out.iterdir())
    assert len(files) == len(formats)
    _assert_clean(proc.stdout + proc.stderr, "scan stdout/stderr")
    for path in files:
        _assert_clean(path.read_text(), path.name)
    _assert_clean(sqlite_dump(db), "history database")
    report = json.loads((out / "apigrade.json").read_text())
    # the target really sent the values back: the report quotes them, masked
    masks = [mask(v) for v in (CLIENT_SECRET, APIKEY, SID, IDENTITY, f"Basic {BASIC}", BASIC)]
    assert any(m in json.dumps(report) for m in masks), report["findings"][:3]
    assert report["findings"]

    scan_id = report["scan_id"]
    for extra in (["history", "--db", f"sqlite:///{db}", "-f", "json"],
                  ["show", scan_id, "--db", f"sqlite:///{db}", "-f", "json"],
                  ["show", scan_id, "--db", f"sqlite:///{db}", "-f", "html"]):  # fmt: skip
        shown = _cli(*extra)
        assert shown.returncode == 0, shown.stderr
        _assert_clean(shown.stdout + shown.stderr, extra[0])


BAD_INPUTS = {
    "-H non-ASCII": (["-H", f"Authorization: {BAD_HEADER_VALUES['non-ASCII']}"], "Authorization"),
    "-H CRLF": (["-H", f"X-Client-Secret: {BAD_HEADER_VALUES['CRLF']}"], "X-Client-Secret"),
    "-H control": (["-H", "apikey: SUPERSECRET123\x1b[2J"], "apikey"),
    "-H bad name": (["-H", "Authorization Bearer SUPERSECRET123: x"], "Authorization"),
    "-b non-ASCII": (["-b", "sid=SUPERSÉCRET123"], "sid"),
    "-b CRLF": (["-b", "theme=dark; sid=SUPERSECRET123\r\nSet-Cookie: x=1"], "sid"),
    "--identity non-ASCII": (["--identity", "bob:X-Token: SUPERSÉCRET123"], "X-Token"),
    "--identity CRLF": (["--identity", "bob:Cookie: sid=SUPERSECRET123\r\nX: y"], "Cookie"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_invalid_values_are_a_usage_error_that_never_shows_them(  # type: ignore[no-untyped-def]
    case: str, serve, tmp_path: Path
) -> None:
    url = serve(reflecting_app())
    extra, name = BAD_INPUTS[case]
    db = tmp_path / "h.sqlite3"
    proc = _cli("scan", url, "--db", f"sqlite:///{db}", *extra, "-f", "json", timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("apigrade: error: "), proc.stderr
    assert name in lines[0] and "internal error" not in lines[0]
    assert BAD_FRAGMENT not in proc.stderr + proc.stdout and "\x1b" not in proc.stderr
    if db.exists():
        assert BAD_FRAGMENT not in sqlite_dump(db)


def test_scan_many_masks_config_secrets_and_refuses_bad_ones(  # type: ignore[no-untyped-def]
    serve, tmp_path: Path
) -> None:
    url = serve(reflecting_app())
    targets = tmp_path / "targets.txt"
    targets.write_text(_with_userinfo(url, "tuser", TARGET_PASS) + "\n")
    config = tmp_path / "targets.toml"
    config.write_text(
        f'[defaults]\nheaders = ["X-Client-Secret: {CLIENT_SECRET}"]\n\n[[target]]\n'
        f'url = "{url}"\nheaders = ["apikey: {APIKEY}", "Authorization: Basic {BASIC}"]\n'
        f'cookie = "sid={SID}; theme=dark"\n'
    )
    db = tmp_path / "fleet.sqlite3"
    proc = _cli("scan-many", str(targets), "--targets-config", str(config), "-f", "json",
                "--db", f"sqlite:///{db}", "--max-requests", "120")  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    rows = json.loads(proc.stdout)
    assert rows[0]["status"] == "completed", rows
    _assert_clean(proc.stdout + proc.stderr, "scan-many output")
    _assert_clean(sqlite_dump(db), "scan-many database")

    for header in (
        f"apikey: {BAD_HEADER_VALUES['non-ASCII']}",
        "apikey: SUPERSECRET123\\r\\nX: 1",
    ):  # fmt: skip (TOML escapes)
        config.write_text(f'[[target]]\nurl = "{url}"\nheaders = ["{header}"]\n')
        bad = _cli("scan-many", str(targets), "--targets-config", str(config), "--no-store")
        assert bad.returncode == 2, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1 and "apikey" in bad.stderr
        assert BAD_FRAGMENT not in bad.stderr + bad.stdout
    config.write_text(f'[[target]]\nurl = "{url}"\ncookie = "sid=SUPERSECRET123\\r\\nX: 1"\n')
    bad = _cli("scan-many", str(targets), "--targets-config", str(config), "--no-store")
    assert bad.returncode == 2 and "sid" in bad.stderr and BAD_FRAGMENT not in bad.stderr


@pytest.mark.parametrize(
    "target",
    [
        FleetTarget("", (("Authorization", BAD_HEADER_VALUES["non-ASCII"]),)),
        FleetTarget("", (), f"sid={BAD_HEADER_VALUES['CRLF']}"),
    ],
    ids=["non-ASCII header", "CRLF cookie"],
)
def test_a_scan_failing_on_a_bad_value_stores_no_repr_and_no_value(  # type: ignore[no-untyped-def]
    target: FleetTarget, serve, tmp_path: Path
) -> None:
    """A library caller can bypass the parser: the error text still never holds the value."""
    url = serve(reflecting_app())
    db = tmp_path / "lib.sqlite3"
    results = Results(f"sqlite:///{db}")
    try:
        outcome = asyncio.run(scan_one(FleetTarget(url, target.headers, target.cookie),
                                       ScanOptions(max_requests=20), "ab12cd34", results))  # fmt: skip
    finally:
        results.close()
    assert outcome.status == "failed" and outcome.error
    assert BAD_FRAGMENT not in outcome.error and "('" not in outcome.error, outcome.error
    assert BAD_FRAGMENT not in sqlite_dump(db)


# -- the service --------------------------------------------------------------------------
SERVICE_KEY = "svc-key-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _service(db: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "apigrade", "serve", "--port", str(port), "--api-key",
         SERVICE_KEY, "--allow", "127.0.0.1", "--db", f"sqlite:///{db}",
         "--max-requests", "120"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("the service did not start")
        yield base, proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _login(c: httpx.Client) -> None:
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text)
    assert token
    r = c.post("/login", data={"csrf": token.group(1), "api_key": SERVICE_KEY})
    assert r.status_code == 303, r.text


def test_service_masks_secrets_everywhere_and_refuses_bad_values(  # type: ignore[no-untyped-def]
    serve, tmp_path: Path
) -> None:
    url = serve(reflecting_app())
    db = tmp_path / "svc.sqlite3"
    seen: list[str] = []
    with (
        _service(db) as (base, proc),
        httpx.Client(base_url=base, headers={"X-API-Key": SERVICE_KEY}, timeout=30) as c,
    ):
        body = {
            "url": _with_userinfo(url, "svcuser", SVC_PASS),
            "headers": [f"X-Client-Secret: {CLIENT_SECRET}", f"apikey: {APIKEY}",
                        f"Authorization: Basic {BASIC}"],
            "cookie": f"sid={SID}; theme=dark",
        }  # fmt: skip
        r = c.post("/api/scans", json=body)
        assert r.status_code == 202, r.text
        seen.append(r.text)
        scan_id = r.json()["scan_id"]
        deadline = time.monotonic() + 120
        while (data := c.get(f"/api/scans/{scan_id}")).json()["status"] == "running":
            assert time.monotonic() < deadline, "the scan did not finish"
            time.sleep(0.3)
        assert data.json()["status"] == "completed", data.text
        assert any(mask(v) in data.text for v in (CLIENT_SECRET, APIKEY, SID, BASIC))
        for path in (
            f"/api/scans/{scan_id}",
            f"/api/scans/{scan_id}/report",
            f"/api/scans/{scan_id}/report?format=html",
            "/api/scans",
            "/api/targets",
        ):
            seen.append(c.get(path).text)  # fmt: skip

        refused = [
            {"url": url, "headers": [f"Authorization: {v}"]} for v in BAD_HEADER_VALUES.values()
        ] + [
            {"url": url, "cookie": "sid=SUPERSÉCRET123"},
            {"url": url, "cookie": "sid=SUPERSECRET123\r\nX: 1"},
            {"url": url, "headers": ["Authorization Bearer SUPERSECRET123: x"]},
        ]
        for bad in refused:
            r = c.post("/api/scans", json=bad)
            assert r.status_code == 422, (bad, r.text)
            assert BAD_FRAGMENT not in r.text and ("Authorization" in r.text or "sid" in r.text)

        with httpx.Client(base_url=base, timeout=30) as browser:
            _login(browser)
            for path in ("/", f"/scans/{scan_id}", f"/scans/{scan_id}/report",
                         f"/target?url={url}"):  # fmt: skip
                page = browser.get(path)
                assert page.status_code == 200, (path, page.status_code)
                seen.append(page.text)
    out, err = proc.communicate()
    seen += [out, err]
    for i, text in enumerate(seen):
        _assert_clean(text, i)
    _assert_clean(sqlite_dump(db), "service database")
