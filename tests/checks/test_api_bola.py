"""BOLA (API1): enumerable object ids, and one identity reading another's objects."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api as apps  # noqa: E402
from apps_api import ALICE, BOB, BOLA, by_check, extra_requests, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.bola.object_ids import MAX_REQUESTS, neighbours  # noqa: E402

ENUM = "bola.object-id-enumerable"
CROSS = "bola.cross-identity"
TWO: dict[str, Any] = {"identities": {"alice": [ALICE], "bob": [BOB]}}


def test_open_object_route_is_enumerable(serve: Callable[..., str]) -> None:
    app = apps.bola_app("open")
    for report in (scan_app(app, only=BOLA), scan_url(serve(app), only=BOLA)):
        [hit] = by_check(report, ENUM)  # the product catalogue has no identities: not reported
        assert urlsplit(hit.url).path == "/api/users/2" and hit.parameter == "id"
        assert hit.severity == "high" and hit.cwe == 639 and hit.owasp == "API1:2023"
        assert hit.category == "bola" and "without credentials" in hit.evidence
        assert "bob@example.com" not in hit.evidence  # masked


def test_logged_in_user_reading_any_record() -> None:
    app = apps.bola_app("authn")
    assert not by_check(scan_app(app, only=[ENUM]), ENUM)  # anonymous: 401 everywhere
    [tentative] = by_check(scan_app(app, only=[ENUM], headers=[ALICE]), ENUM)
    assert tentative.confidence == "tentative" and "with the one identity" in tentative.evidence
    [cross] = by_check(scan_app(app, only=[CROSS], **TWO), CROSS)
    assert cross.confidence == "certain" and cross.cwe == 639
    assert urlsplit(cross.url).path == "/api/users/2"
    assert "bob's id is 2 (/api/me)" in cross.evidence and "as 'alice'" in cross.evidence


def test_cross_identity_over_a_socket(serve: Callable[..., str]) -> None:
    report = scan_url(serve(apps.bola_app("authn")), only=BOLA, **TWO)
    assert by_check(report, CROSS)


def test_owner_only_routes_have_no_findings(serve: Callable[..., str]) -> None:
    app = apps.bola_app("secure")
    for report in (
        scan_app(app, only=BOLA, headers=[ALICE], **TWO),
        scan_app(app, only=BOLA),
        scan_url(serve(app), only=BOLA, headers=[ALICE], **TWO),
    ):
        assert not mine(report, BOLA), report.findings


def test_spec_route_of_a_fastapi_app() -> None:
    [hit] = by_check(scan_app(apps.fastapi_app(), only=[ENUM]), ENUM)
    assert hit.parameter == "user_id" and urlsplit(hit.url).path == "/api/users/1"


def test_request_bounds() -> None:
    assert 0 < extra_requests(apps.bola_app("open"), [ENUM]) <= MAX_REQUESTS
    assert 0 < extra_requests(apps.bola_app("authn"), [ENUM], headers=[ALICE]) <= MAX_REQUESTS
    assert 0 < extra_requests(apps.bola_app("authn"), [CROSS], **TWO) <= MAX_REQUESTS
    assert extra_requests(apps.bola_app("authn"), [CROSS]) == 0  # needs two identities


def test_neighbours() -> None:
    assert neighbours("7") == ["7", "8", "6"]
    assert neighbours("1") == ["1", "2", "3"]
    assert neighbours("A012") == ["A012", "A013", "A011"]
    assert neighbours("v2") == [] and neighbours("report") == []
    assert neighbours("3fa85f64-5717-4562-b3fc-2c963f66afa6") == []
