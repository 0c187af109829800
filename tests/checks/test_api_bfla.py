"""BFLA (API5): admin functions for everyone, and method/header tampering."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api as apps  # noqa: E402
from apps_api import ALICE, BFLA, ROOT, by_check, extra_requests, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.bfla.method_tampering import is_metadata  # noqa: E402

ADMIN = "bfla.admin-function"
TAMPER = "bfla.method-tampering"
IDS: dict[str, Any] = {"identities": {"alice": [ALICE], "root": [ROOT]}}


def _by_path(report: apps.ScanReport, check_id: str) -> dict[str, apps.Finding]:
    return {urlsplit(f.url).path: f for f in by_check(report, check_id)}


def test_admin_functions_for_anyone_and_for_ordinary_users(serve: Callable[..., str]) -> None:
    app = apps.bfla_app()
    for report in (scan_app(app, only=[ADMIN], **IDS), scan_url(serve(app), only=[ADMIN], **IDS)):
        found = _by_path(report, ADMIN)
        assert set(found) == {"/api/admin/users", "/api/admin/stats"}  # revenue checks roles
        assert "without credentials -> 200" in found["/api/admin/users"].evidence
        stats = found["/api/admin/stats"].evidence
        assert "as ordinary identity 'alice'" in stats and "without credentials: 401" in stats
        for f in found.values():
            assert f.cwe == 306 and f.category == "bfla" and f.owasp == "API5:2023"


def test_privileged_or_user_credentials_alone_are_not_enough() -> None:
    app = apps.bfla_app()
    root_only = _by_path(scan_app(app, only=[ADMIN], identities={"root": [ROOT]}), ADMIN)
    assert set(root_only) == {"/api/admin/users"}  # root is allowed /api/admin/stats
    as_user = _by_path(scan_app(app, only=[ADMIN], headers=[ALICE]), ADMIN)
    assert set(as_user) == {"/api/admin/users"}  # -H alone: could be an administrator


def test_role_checked_admin_routes_have_no_findings(serve: Callable[..., str]) -> None:
    app = apps.bfla_app(secure=True)
    for report in (scan_app(app, only=BFLA, **IDS), scan_url(serve(app), only=BFLA, **IDS)):
        assert not mine(report, BFLA), report.findings


def test_method_and_header_tampering(serve: Callable[..., str]) -> None:
    app = apps.tamper_app()
    for report in (scan_app(app, only=[TAMPER]), scan_url(serve(app), only=[TAMPER])):
        found = _by_path(report, TAMPER)
        assert set(found) == {
            "/api/private/report", "/api/private/summary", "/api/private/export", "/admin/panel",
        }  # fmt: skip
        summary = found["/api/private/summary"]
        assert summary.method == "OPTIONS" and summary.severity == "medium"
        assert (
            summary.parameter is None and "OPTIONS /api/private/summary -> 200" in summary.evidence
        )
        head = found["/api/private/report"]
        assert head.method == "HEAD" and head.severity == "medium"
        assert "-> 401; HEAD /api/private/report -> 200" in head.evidence
        over = found["/api/private/export"]
        assert over.method == "OPTIONS" and over.parameter == "X-HTTP-Method-Override"
        assert over.severity == "high" and over.confidence == "certain"
        rewrite = found["/admin/panel"]
        assert rewrite.parameter == "X-Original-URL" and "-> 403" in rewrite.evidence


def test_guards_on_every_method_have_no_findings(serve: Callable[..., str]) -> None:
    app = apps.tamper_app(secure=True)
    for report in (scan_app(app, only=BFLA), scan_url(serve(app), only=BFLA, headers=[ALICE])):
        assert not mine(report, BFLA), report.findings


def test_only_safe_methods_without_active() -> None:
    rec = apps.Recorder(apps.tamper_app())
    scan_app(rec, only=BFLA, **IDS)
    assert {m for m, *_ in rec.seen} <= {"GET", "HEAD", "OPTIONS"}


def test_request_bounds() -> None:
    assert 0 < extra_requests(apps.bfla_app(), [ADMIN], **IDS) <= 18 + 2
    assert 0 < extra_requests(apps.tamper_app(), [TAMPER]) <= 26
    assert is_metadata({"name": "Order List", "renders": ["application/json"]})
    assert not is_metadata({"revenue": 1200})
