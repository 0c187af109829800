"""Identity-aware checks: two users and an administrator (BOLA, BFLA, property level)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_identity as apps  # noqa: E402
from apps_identity import IDENTITIES, SECRETS  # noqa: E402

from apigrade.checks.bola.cross_identity import listed_ids  # noqa: E402
from apigrade.checks.common.roles import (  # noqa: E402
    admin_identities,
    same_shape,
    user_identities,
)
from apigrade.checks.context import CheckContext  # noqa: E402
from apigrade.checks.property_authorization.role_fields import (  # noqa: E402
    others_fields,
    sensitive_kind,
)
from apigrade.identities import is_privileged, role_of  # noqa: E402
from apigrade.model import ScanReport  # noqa: E402
from helpers_scan import by_check, mine, scan_app, scan_url  # noqa: E402

CROSS = "bola.cross-identity"
ADMIN_FN = "bfla.admin-function"
FIELDS = "props.role-field-exposure"
ONLY = [CROSS, ADMIN_FN, FIELDS, "bola.object-id-enumerable"]


def _paths(report: ScanReport, check_id: str) -> dict[str, Any]:
    return {urlsplit(f.url).path: f for f in by_check(report, check_id)}


def _no_secrets(report: ScanReport) -> None:
    text = report.model_dump_json()
    for secret in (*SECRETS, "123-45-6789", "987-65-4321", "pbkdf2:sha256"):
        assert secret not in text


def _assert_flawed(report: ScanReport) -> None:
    [bola] = by_check(report, CROSS)
    assert urlsplit(bola.url).path in ("/api/orders/1", "/api/orders/3")
    assert bola.cwe == 639 and bola.owasp == "API1:2023" and bola.category == "bola"
    assert "as 'alice'" in bola.evidence and "as 'bob'" in bola.evidence
    assert "without credentials: 401" in bola.evidence

    bfla = _paths(report, ADMIN_FN)["/api/admin/users"]
    assert "as ordinary identity 'alice'" in bfla.evidence
    assert "admin identity 'admin' gets the same fields" in bfla.evidence
    assert bfla.confidence == "certain" and bfla.owasp == "API5:2023"
    payroll = _paths(report, ADMIN_FN)["/api/reports/payroll"]  # by operationId
    assert "as ordinary identity 'alice'" in payroll.evidence and payroll.confidence == "certain"

    fields = _paths(report, FIELDS)
    users = fields["/api/users"]
    assert users.severity == "high" and users.cwe == 213 and users.owasp == "API3:2023"
    assert users.category == "property-authorization"
    for name in ("password_hash", "ssn", "email", "salary"):
        assert name in users.evidence
    assert "as user-labelled 'alice'" in users.evidence and "admin 'admin'" in users.evidence
    admin_list = fields["/api/admin/users"]  # e-mail and salary, no secrets: medium
    assert admin_list.severity == "medium"
    _no_secrets(report)


def test_planted_flaws_found_in_process() -> None:
    _assert_flawed(scan_app(apps.shop_app(), only=ONLY, identities=IDENTITIES))


def test_planted_flaws_found_over_a_socket(serve: Callable[..., str]) -> None:
    _assert_flawed(scan_url(serve(apps.shop_app()), only=ONLY, identities=IDENTITIES))


def test_fixed_app_has_no_findings(serve: Callable[..., str]) -> None:
    app = apps.shop_app(fixed=True)
    for report in (
        scan_app(app, only=ONLY, identities=IDENTITIES),
        scan_url(serve(app), only=ONLY, identities=IDENTITIES),
    ):
        assert not mine(report, ONLY), report.findings


def test_catch_all_has_no_identity_findings(serve: Callable[..., str]) -> None:
    app = apps.json_catch_all()
    for report in (
        scan_app(app, only=ONLY, identities=IDENTITIES),
        scan_url(serve(app), only=ONLY, identities=IDENTITIES),
    ):
        assert not mine(report, [CROSS, FIELDS]), report.findings
        # Everyone gets the same answer: never an identity-based BFLA finding.
        assert not [f for f in by_check(report, ADMIN_FN) if "identity" in f.evidence]


def test_one_identity_or_none_sends_nothing_more() -> None:
    app = apps.shop_app()
    base = scan_app(app, only=[]).requests_sent
    assert scan_app(app, only=[CROSS, FIELDS]).requests_sent == base
    one = {"identities": {"alice": IDENTITIES["alice"]}}
    base_one = scan_app(app, only=[], **one).requests_sent
    assert scan_app(app, only=[CROSS, FIELDS], **one).requests_sent == base_one


def test_request_bounds() -> None:
    app = apps.shop_app()
    base = scan_app(app, only=[], identities=IDENTITIES).requests_sent
    for check_id, bound in ((CROSS, 20), (FIELDS, 18)):
        sent = scan_app(app, only=[check_id], identities=IDENTITIES).requests_sent - base
        assert 0 < sent <= bound, (check_id, sent)


def test_role_labels() -> None:
    assert role_of("alice") == "user" and role_of("admin") == "admin"
    assert role_of("rootbeer", {"rootbeer": "User"}) == "user"  # the given label wins
    assert role_of("carol", {"carol": "Administrator"}) == "administrator"
    assert is_privileged("carol", {"carol": "staff"}) and not is_privileged("bob")
    ctx = cast(CheckContext, SimpleNamespace(
        identities={"alice": (), "bob": (), "ops": ()}, identity_roles={"ops": "admin"},
    ))  # fmt: skip
    assert user_identities(ctx) == ["alice", "bob"] and admin_identities(ctx) == ["ops"]


def test_pure_helpers() -> None:
    assert listed_ids({"orders": [{"id": 1}, {"id": 2}]}) == ["1", "2"]
    assert listed_ids([{"id": "a"}, {"name": "x"}]) == ["a"] and listed_ids({"a": 1}) == []
    assert sensitive_kind("password_hash") == "secret" and sensitive_kind("email") == "personal"
    assert sensitive_kind("role") is None and sensitive_kind("username") is None
    own_only = [{"id": 1, "email": "a@x.io"}, {"id": 2}]
    assert others_fields(own_only) == {}
    assert others_fields([{"email": "a@x.io"}, {"email": "b@x.io"}]) == {"email": "personal"}
    own_orders = [{"id": 1, "address": "1 Main St", "user": "alice"},
                  {"id": 2, "address": "2 Side St", "user": "alice"}]  # fmt: skip
    assert (
        others_fields(own_orders) == {}
        and others_fields([{"api_key": "k1"}, {"api_key": "k2"}]) == {}
    )
    assert others_fields([{"is_private": True}, {"is_private": False}]) == {}
    assert same_shape({"users": [{"id": 1, "email": "e"}]}, {"users": [{"id": 2, "email": "f"}]})
    assert not same_shape({"users": [{"id": 1, "email": "e"}]}, {"detail": "forbidden"})


def test_created_object_read_by_another_user_with_active(serve: Callable[..., str]) -> None:
    for report in (
        scan_app(apps.shop_app(empty=True), only=[CROSS], identities=IDENTITIES, active=True),
        scan_url(serve(apps.shop_app(empty=True)), only=[CROSS], identities=IDENTITIES,
                 active=True),
    ):  # fmt: skip
        [hit] = by_check(report, CROSS)
        assert hit.confidence == "certain" and urlsplit(hit.url).path == "/api/orders/1"
        assert "as 'alice', POST /api/orders created id 1; as 'bob'" in hit.evidence
        assert "without credentials: 401" in hit.evidence
    # Without --active nothing is created, and the empty listings prove nothing.
    passive = scan_app(apps.shop_app(empty=True), only=[CROSS], identities=IDENTITIES)
    assert not by_check(passive, CROSS)
    fixed = apps.shop_app(fixed=True, empty=True)
    assert not by_check(scan_app(fixed, only=[CROSS], identities=IDENTITIES, active=True), CROSS)


def test_methods_sent() -> None:
    from apps_api import Recorder

    rec = Recorder(apps.shop_app())
    scan_app(rec, only=ONLY, identities=IDENTITIES)
    assert {m for m, *_ in rec.seen} <= {"GET", "HEAD", "OPTIONS"}
    rec = Recorder(apps.shop_app(empty=True))
    scan_app(rec, only=[CROSS], identities=IDENTITIES, active=True)
    assert len([m for m, *_ in rec.seen if m == "POST"]) == 1
    assert {m for m, *_ in rec.seen} <= {"GET", "HEAD", "OPTIONS", "POST"}


def _auth_file(folder: Path, roles: dict[str, str]) -> str:
    """An identities file (--auth) of static bearer tokens read from the environment."""
    blocks = [
        f'[[identity]]\nname = "{name}"\nrole = "{role}"\n[identity.static]\n'
        f'headers = {{ Authorization = {{ env = "SHOP_{name.upper()}", prefix = "Bearer " }} }}\n'
        for name, role in roles.items()
    ]
    path = folder / "identities.toml"
    path.write_text("\n".join(blocks))
    return str(path)


def test_roles_from_an_auth_file(tmp_path: Path, monkeypatch: Any) -> None:
    """The auth file's role labels decide: 'carol' is the administrator, not by name."""
    tokens = dict(zip(("alice", "bob", "carol"), SECRETS, strict=True))
    for name, token in tokens.items():
        monkeypatch.setenv(f"SHOP_{name.upper()}", token)
    auth = _auth_file(tmp_path, {"alice": "user", "bob": "customer", "carol": "admin"})
    report = scan_app(apps.shop_app(), only=ONLY, auth=auth)
    assert "admin identity 'carol'" in _paths(report, ADMIN_FN)["/api/admin/users"].evidence
    users = _paths(report, FIELDS)["/api/users"]
    assert "as user-labelled 'alice'" in users.evidence and "admin 'carol'" in users.evidence
    [bola] = by_check(report, CROSS)
    assert "'carol'" not in bola.evidence  # the administrator is never the reader
    _no_secrets(report)
    fixed = scan_app(apps.shop_app(fixed=True), only=ONLY, auth=auth)
    assert not mine(fixed, ONLY), fixed.findings
