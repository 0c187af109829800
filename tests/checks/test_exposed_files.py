"""Exposed config, secret and backup files (signatures in checks/signatures/)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apigrade.checks import load_checks
from apigrade.checks.registry import REGISTRY
from apigrade.checks.signature import load_file
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_files as apps  # noqa: E402

SIGNATURES = Path(__file__).resolve().parents[2] / "src/apigrade/checks/signatures"
FILE_CHECKS = [
    "files.dotenv",
    "files.flaskenv",
    "files.python-config",
    "files.git-config",
    "files.python-source",
    "files.source-backup",
    "files.sqlite-db",
    "files.sql-dump",
    "files.sql-dump-compressed",
    "files.archive-backup",
]
SECRETS = ("change-me-please", "Hunter2", "sk_live_0000", "ghp_token", "9f8e7d6c5b4a3210")

Both = Callable[..., tuple[ScanReport, ScanReport]]


def found(report: ScanReport) -> set[tuple[str, str]]:
    """(check id, URL path) of every file finding."""
    out = set()
    for f in report.findings:
        if f.check_id.startswith("files."):
            out.add((f.check_id, "/" + f.url.split("/", 3)[3]))
    return out


def scan_files(scan_both: Both, app: Any) -> tuple[ScanReport, ScanReport]:
    return scan_both(app, only=FILE_CHECKS)


def test_metadata_and_request_budget() -> None:
    load_checks()
    files = [SIGNATURES / "exposed_files.toml", *sorted(SIGNATURES.glob("files_*.toml"))]
    sigs = [sig for path in files for sig in load_file(path)]
    assert sorted(s.meta.id for s in sigs) == sorted(FILE_CHECKS)
    paths = {p for s in sigs for p in s.paths}
    assert 55 <= len(paths) <= 80  # distinct requests, shared paths are cached
    for s in sigs:
        meta = REGISTRY.meta(s.meta.id)
        assert meta.category == "misconfiguration" and meta.owasp == "API8:2023"
        assert meta.severity != "critical"
        assert meta.cwe in (538, 530)
        assert "static" in meta.remediation or "send_from_directory" in meta.remediation
        assert s.soft404 and any(m.type == "status" for m in s.matchers)
    by_id = {s.meta.id: s.meta for s in sigs}
    assert by_id["files.dotenv"].cwe == 538 and by_id["files.dotenv"].severity == "high"
    assert by_id["files.sqlite-db"].cwe == 530 and by_id["files.sqlite-db"].severity == "high"
    assert by_id["files.archive-backup"].severity == "medium"


def test_project_directory_served(scan_both: Both, tmp_path: Path) -> None:
    app = apps.project_root_app(apps.make_project(tmp_path / "proj"))
    expected = {
        ("files.dotenv", "/.env"),
        ("files.dotenv", "/.env.production"),
        ("files.flaskenv", "/.flaskenv"),
        ("files.python-config", "/config.py"),
        ("files.git-config", "/.git/config"),
        ("files.python-source", "/app.py"),
        ("files.source-backup", "/app.py.bak"),
        ("files.sqlite-db", "/instance/app.db"),
        ("files.sql-dump", "/dump.sql"),
        ("files.sql-dump", "/backup.sql.gz"),  # sent with Content-Encoding: gzip
        ("files.sql-dump-compressed", "/dump.sql.gz"),  # raw gzip, nginx style
        ("files.archive-backup", "/backup.zip"),
        ("files.archive-backup", "/site.tar.gz"),  # decoded to a tar by the engine
    }
    for report in scan_files(scan_both, app):
        assert found(report) == expected
        for f in report.findings:
            assert not any(secret in f.evidence for secret in SECRETS), f.evidence
            assert f.confidence in ("certain", "firm")
        dotenv = next(f for f in report.findings if f.url.endswith("/.env"))
        assert "SECRET_KEY=c" in dotenv.evidence and dotenv.severity == "high"
        assert dotenv.cwe == 538 and dotenv.category == "misconfiguration"
        archive = next(f for f in report.findings if f.url.endswith("/backup.zip"))
        assert "shop/app.py" in archive.evidence and archive.cwe == 530


def test_files_dropped_into_static(scan_both: Both, tmp_path: Path) -> None:
    app = apps.static_leak_app(tmp_path / "static")
    expected = {("files.dotenv", "/static/.env"), ("files.python-config", "/static/config.py")}
    for report in scan_files(scan_both, app):
        assert found(report) == expected


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda tmp: apps.hardened_files_app(tmp / "static"), id="hardened"),
        pytest.param(lambda tmp: apps.spa_app(), id="spa-catch-all"),
        pytest.param(lambda tmp: apps.kv_catchall_app(), id="key-value-catch-all"),
    ],
)
def test_no_false_alarms(scan_both: Both, tmp_path: Path, make: Callable[[Path], Any]) -> None:
    for report in scan_files(scan_both, make(tmp_path)):
        assert found(report) == set()
