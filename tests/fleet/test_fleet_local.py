"""scan-many without a broker: targets file and TOML config, limits, output, exit codes."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, request

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet_fixtures import *  # noqa: E402,F403
from fleet_fixtures import error_lines, run_cli, serve_targets, tiny_app  # noqa: E402

from apigrade.demo.app import create_app as demo_app  # noqa: E402
from apigrade.engine.scanner import ScanOptions  # noqa: E402
from apigrade.errors import UsageError  # noqa: E402
from apigrade.fleet.politeness import Limits, host_key  # noqa: E402
from apigrade.fleet.results import Results  # noqa: E402
from apigrade.fleet.runner import FleetResult, gate_code, run_fleet  # noqa: E402
from apigrade.fleet.targets import FleetTarget, load_targets  # noqa: E402
from apigrade.model import Severity  # noqa: E402

pytestmark = pytest.mark.fleet


# -- targets file and config ----------------------------------------------------------------
def test_targets_file_comments_blank_lines_duplicates(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("# fleet\n\nhttps://A.example.com\n  http://b.example.com:8080/api  # staging\n"
                 "https://a.example.com/\n")
    assert [t.url for t in load_targets(f)] == [
        "https://a.example.com/", "http://b.example.com:8080/api"]


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "no targets"), ("ftp://x/\n", ":1:"), ("http://a/ http://b/\n", "one URL per line")],
)
def test_bad_targets_files(tmp_path: Path, text: str, words: str) -> None:
    f = tmp_path / "t.txt"
    f.write_text(text)
    with pytest.raises(UsageError, match=words):
        load_targets(f)


def test_targets_config_headers_and_cookies(tmp_path: Path) -> None:
    f = tmp_path / "t.txt"
    f.write_text("https://a.example.com/\nhttps://b.example.com/\n")
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        '[defaults]\nheaders = ["X-Team: sec"]\ncookie = "d=1"\n\n'
        '[[target]]\nurl = "https://a.example.com"\nheaders = ["Authorization: Bearer t0k"]\n'
        'cookie = "session=abc"\n'
    )
    a, b = load_targets(f, cfg)
    assert a == FleetTarget("https://a.example.com/",
                            (("X-Team", "sec"), ("Authorization", "Bearer t0k")), "session=abc")
    assert b == FleetTarget("https://b.example.com/", (("X-Team", "sec"),), "d=1")


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        ('[[target]]\nurl = "https://other.example.com/"\n', "not in the targets file"),
        ('[[target]]\nheaders = ["A: b"]\n', "needs url"),
        ('[[target]]\nurl = "https://a.example.com/"\nheader = ["A: b"]\n', "unknown key"),
        ('[[target]]\nurl = "https://a.example.com/"\nheaders = ["nocolon"]\n', "bad header"),
        ('[[target]]\nurl = "https://a.example.com/"\ncookie = 5\n', "cookie must be"),
        ("[target\n", "bad TOML"),
        ("[extra]\n", "unknown table"),
    ],
)
def test_bad_targets_config(tmp_path: Path, toml: str, words: str) -> None:
    f = tmp_path / "t.txt"
    f.write_text("https://a.example.com/\n")
    cfg = tmp_path / "t.toml"
    cfg.write_text(toml)
    with pytest.raises(UsageError, match=words):
        load_targets(f, cfg)


# -- limits ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("parallel", "expect"), [(3, 3), (10, 4)])
def test_limits_global_and_per_host(parallel: int, expect: int) -> None:
    async def main() -> tuple[int, dict[str, int]]:
        limits = Limits(parallel=parallel, per_host=2)
        now: dict[str, int] = {}
        peak: dict[str, int] = {}

        async def one(url: str) -> None:
            async with limits.slot(url):
                host = host_key(url)
                now[host] = now.get(host, 0) + 1
                peak[host] = max(peak.get(host, 0), now[host])
                await asyncio.sleep(0.01)
                now[host] -= 1

        urls = [f"http://a.test:{8000 + i}/" for i in range(6)] + ["http://b.test/"] * 3
        await asyncio.gather(*(one(u) for u in urls))
        return limits.peak, peak

    overall, per_host = asyncio.run(main())
    assert overall == expect
    assert per_host["a.test"] == 2  # ports of one host share its limit
    assert 1 <= per_host["b.test"] <= 2


def test_gate_codes() -> None:
    ok = FleetResult("http://a/", "completed", score=95, grade="A", worst="low")
    bad = FleetResult("http://b/", "completed", score=35, grade="F", worst="critical")
    failed = FleetResult.failed("http://c/", "cannot connect")
    assert gate_code([ok, failed], None, None) == 0
    assert gate_code([ok, failed], None, None, fail_on_error=True) == 3
    assert gate_code([failed, failed], None, None) == 3
    assert gate_code([ok, bad], 50, None) == 1
    assert gate_code([ok, bad], None, Severity.HIGH) == 1
    assert gate_code([ok], 90, Severity.MEDIUM) == 0


# -- the runner and the command ------------------------------------------------------------------
def _header_app(seen: list[dict[str, str]]) -> Flask:
    app = Flask("headers")
    lock = threading.Lock()

    @app.route("/")
    def index() -> Any:
        with lock:
            seen.append({"auth": request.headers.get("Authorization", ""),
                         "cookie": request.headers.get("Cookie", "")})
        return jsonify({"ok": True})

    return app


def test_run_fleet_stores_each_target_and_keeps_input_order(tmp_path: Path) -> None:
    results = Results(f"sqlite:///{tmp_path / 'r.sqlite'}")
    with serve_targets(3, lambda i: tiny_app(f"t{i}")) as urls:
        fleet = [FleetTarget(u) for u in urls] + [FleetTarget("http://127.0.0.1:9/")]
        done: list[int] = []
        out = asyncio.run(run_fleet(fleet, ScanOptions(max_requests=30), parallel=2, per_host=2,
                                    results=results, on_done=lambda i, r: done.append(i)))
    assert [r.target for r in out] == [t.url for t in fleet]
    assert sorted(done) == [0, 1, 2, 3]
    assert [r.status for r in out] == ["completed"] * 3 + ["failed"]
    assert "cannot connect" in (out[3].error or "")
    for r in out[:3]:
        assert results.completed_count(r.target) == 1
        stored = results.report(r.scan_id or "")
        assert stored is not None and stored.grade == r.grade
    assert results.get(out[3].scan_id or "").status == "failed"  # type: ignore[union-attr]
    results.close()


def test_scan_many_command_json_table_and_credentials(tmp_path: Path) -> None:
    seen: list[dict[str, str]] = []
    with serve_targets(1, lambda i: _header_app(seen)) as (hurl,), \
            serve_targets(1, lambda i: demo_app()) as (durl,):
        targets = tmp_path / "t.txt"
        targets.write_text(f"{hurl}\n{durl}\nhttp://127.0.0.1:9/\n")
        cfg = tmp_path / "t.toml"
        cfg.write_text(f'[[target]]\nurl = "{hurl}"\nheaders = ["Authorization: Bearer s3cret"]\n'
                       'cookie = "sid=xyz"\n')
        out = tmp_path / "out.json"
        db = f"sqlite:///{tmp_path / 'c.sqlite'}"
        r = run_cli("scan-many", str(targets), "--targets-config", str(cfg), "--max-requests",
                    "40", "--db", db, "-f", "json", "-o", str(out), "--fail-on", "high")
    assert r.returncode == 1, r.stderr  # the demo app has high findings
    rows = json.loads(out.read_text())
    assert [row["target"] for row in rows] == [hurl, durl, "http://127.0.0.1:9/"]
    assert [set(row) for row in rows] == [
        {"target", "scan_id", "score", "grade", "status", "error"}] * 3
    assert [row["status"] for row in rows] == ["completed", "completed", "failed"]
    assert rows[1]["grade"] == "F"
    assert {"auth": "Bearer s3cret", "cookie": "sid=xyz"} in seen
    assert "3 targets, 2 scanned, 1 failed" in r.stderr  # the table goes to stderr with -o
    assert "[3/3]" in r.stderr  # plain progress lines when not on a terminal
    stored = Results(db).report(rows[0]["scan_id"])
    assert stored is not None and "s3cret" not in stored.model_dump_json()


def test_scan_many_exit_codes_and_usage_errors(tmp_path: Path) -> None:
    dead = tmp_path / "dead.txt"
    dead.write_text("http://127.0.0.1:9/\n")
    r = run_cli("scan-many", str(dead), "--no-store")
    assert r.returncode == 3 and "0 scanned, 1 failed" in r.stdout
    assert run_cli("scan-many", str(tmp_path / "missing.txt")).returncode == 2
    r = run_cli("scan-many", str(dead), "--format", "sarif")
    assert r.returncode == 2 and len(error_lines(r.stderr)) == 1 and "text or json" in r.stderr
    r = run_cli("scan-many", str(dead), "--no-store", "--db", "sqlite:///x")
    assert r.returncode == 2
    r = run_cli("scan-many", str(dead), "--broker", "redis://127.0.0.1:9/0", "--no-store")
    assert r.returncode == 2 and "cannot reach broker" in r.stderr
    assert "Traceback" not in r.stderr
