"""Path traversal: the static route and file-name parameters."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apigrade.checks.input_validation import traversal
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_files as apps  # noqa: E402

from conftest import by_check, scan_app  # noqa: E402

CHECKS = ["traversal.static-route", "traversal.parameter"]
Both = Callable[..., tuple[ScanReport, ScanReport]]
PROOF = re.compile(r"root:[x*]?:0:0:|Python source read: from flask import")


def test_payloads_never_carry_their_proof() -> None:
    batches = traversal.static_batches("/static", full=True)
    batches += traversal.param_batches("query") + traversal.param_batches("path")
    attempts = [a for batch in batches for a in batch]
    assert len(traversal.static_batches("/static", full=True)[0]) == 2
    for a in attempts:
        assert a.proof(a.target) is None and a.proof(a.control) is None
        assert a.control != a.target and "apigrade" in a.control
    targets = {a.target for a in attempts}
    assert "/static/" + "../" * 8 + "etc/passwd" in targets
    assert "/static/" + "..%2f" * 8 + "etc%2fpasswd" in targets
    assert "/static/" + "..%252f" * 8 + "etc%252fpasswd" in targets
    assert "/static/../app.py" in targets and "/etc/passwd" in targets


def test_naive_static_route(scan_both: Both, tmp_path: Path) -> None:
    app = apps.naive_static_app(apps.make_traversal_project(tmp_path / "proj"))
    for report in scan_both(app, only=CHECKS):
        [f] = by_check(report, "traversal.static-route")
        assert PROOF.search(f.evidence), f.evidence
        assert f.severity == "high" and f.cwe == 22 and f.category == "input-validation"
        assert "/static/" in f.url and f.method == "GET"
        assert by_check(report, "traversal.parameter") == []


def test_download_parameter(scan_both: Both, tmp_path: Path) -> None:
    app = apps.download_app(apps.make_traversal_project(tmp_path / "proj"))
    for report in scan_both(app, only=CHECKS):
        [f] = by_check(report, "traversal.parameter")
        assert f.parameter == "file" and "/download?" in f.url
        assert PROOF.search(f.evidence) and f.owasp == "API8:2023"
        assert by_check(report, "traversal.static-route") == []


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda tmp: apps.download_app(apps.make_traversal_project(tmp), safe=True),
            id="stock-static-and-send_from_directory",
        ),
        pytest.param(lambda tmp: apps.echo_file_app(), id="echo-and-passwd-tutorial"),
        pytest.param(lambda tmp: apps.spa_app(), id="spa-catch-all"),
        pytest.param(
            lambda tmp: apps.project_root_app(apps.make_project(tmp)), id="exposed-not-traversal"
        ),
        pytest.param(lambda tmp: apps.hardened_files_app(tmp / "static"), id="hardened"),
    ],
)
def test_no_false_alarms(scan_both: Both, tmp_path: Path, make: Callable[[Path], Any]) -> None:
    for report in scan_both(make(tmp_path / "app"), only=CHECKS):
        assert [f for f in report.findings if f.check_id in CHECKS] == []


def test_request_budget() -> None:
    app = apps.echo_file_app()
    discovery = scan_app(app, only=[]).requests_sent
    assert scan_app(app, only=CHECKS).requests_sent - discovery <= 25
