"""Mass assignment without a spec: JSON collections and HTML forms (issue 15, cap. 7)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_mass as apps  # noqa: E402
from apps_api import Recorder, by_check, extra_requests, scan_app, scan_url  # noqa: E402

from apigrade.checks.property_authorization import mass_assignment as ma  # noqa: E402

MASS = "props.mass-assignment"


def test_inferred_collection_and_form_are_confirmed(serve: Callable[..., str]) -> None:
    app = apps.accounts_app()
    for report in (scan_app(app, only=[MASS], active=True),
                   scan_url(serve(apps.accounts_app()), only=[MASS], active=True)):  # fmt: skip
        hits = {urlsplit(f.url).path: f for f in by_check(report, MASS)}
        assert set(hits) == {"/api/accounts", "/settings"}
        acc = hits["/api/accounts"]
        assert acc.method == "POST" and acc.confidence == "certain" and acc.cwe == 915
        # the privileged properties the records show, with values unlike their defaults
        for shown in ('plan: "enterprise"', "balance: 1000000", "verified: true", "is_admin: true"):
            assert shown in acc.evidence.split("GET /api/accounts/")[1], acc.evidence
        form = hits["/settings"]
        assert form.confidence == "certain" and 'GET /api/me -> role: "admin"' in form.evidence


def test_update_route_of_an_object_the_scan_created(serve: Callable[..., str]) -> None:
    for report in (
        scan_app(apps.accounts_app(update_only=True), only=[MASS], active=True),
        scan_url(serve(apps.accounts_app(update_only=True)), only=[MASS], active=True),
    ):
        hits = {(f.method, unquote(urlsplit(f.url).path)): f for f in by_check(report, MASS)}
        assert ("POST", "/api/accounts") not in hits  # creation is allow-listed
        patch = hits[("PATCH", "/api/accounts/{id}")]
        assert patch.confidence == "certain" and 'plan: "enterprise"' in patch.evidence
    rec = Recorder(apps.accounts_app(update_only=True))
    scan_app(rec, only=[MASS], active=True)
    patched = [p for m, p, *_ in rec.seen if m == "PATCH"]
    assert patched == ["/api/accounts/3"]  # the account the scan created, nobody else's


def test_default_mode_writes_nothing() -> None:
    rec = Recorder(apps.accounts_app())
    assert not by_check(scan_app(rec, only=[MASS]), MASS)
    assert {m for m, *_ in rec.seen} <= {"GET", "HEAD", "OPTIONS"}


def test_payload_and_bounds() -> None:
    rec = Recorder(apps.accounts_app())
    scan_app(rec, only=[MASS], active=True)
    posts = [s for s in rec.seen if s[0] == "POST"]
    assert {p for _, p, *_ in posts} == {"/api/accounts", "/settings"}
    body = next(json.loads(b) for b in rec.bodies if b.startswith(b"{"))
    assert body["name"].startswith("apigrade") and body["email"].endswith("@example.com")
    assert body["plan"] == "enterprise" and body["balance"] == 1000000 and "id" not in body
    assert extra_requests(apps.accounts_app(), [MASS], active=True) <= 3 * (
        ma.MAX_ENDPOINTS + ma.MAX_UPDATES
    )


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: apps.accounts_app(fixed=True), id="pydantic-no-spec"),
        pytest.param(
            lambda: apps.accounts_app(fixed=True, update_only=True), id="pydantic-with-spec"
        ),
        pytest.param(apps.echo_catch_all_app, id="echo-catch-all"),
    ],  # fmt: skip
)
def test_allow_list_and_catch_all_are_clean(serve: Callable[..., str], make: Callable) -> None:
    for report in (scan_app(make(), only=[MASS], active=True),
                   scan_url(serve(make()), only=[MASS], active=True)):  # fmt: skip
        assert by_check(report, MASS) == []


def test_defaults_and_privileged_names() -> None:
    recs = [{"id": 1, "isAdmin": False, "plan": "free", "credits": 5, "role": 2},
            {"id": 2, "isAdmin": False, "plan": "pro", "credits": 5, "role": 2},
            {"id": 3, "isAdmin": True, "plan": "free", "credits": 0, "role": 1}]  # fmt: skip
    assert ma.defaults(recs) == {"id": 1, "isAdmin": False, "plan": "free", "credits": 5, "role": 2}
    extra = ma.privileged_extra(recs)
    assert (
        extra["isAdmin"] is True and extra["plan"] == "enterprise" and extra["credits"] == 1000000
    )
    assert "role" in extra and extra["role"] == "admin"  # the classic names are always sent
    # the value sent must differ from the default to count
    assert ma.injected({"plan": "free"}, {"plan": "free"}, {"plan": "free"}) == {}
    assert ma.injected({"plan": "enterprise"}, {"plan": "enterprise"}, {"plan": "free"})
    assert ma.records_of({"users": [{"id": 1}, {"id": 2}]}) == [{"id": 1}, {"id": 2}]
