"""Inventory (API9): exposed specs and docs, GraphQL introspection, debug endpoints,
old versions, spec drift."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_api as apps  # noqa: E402
from apps_api import INVENTORY, by_check, extra_requests, mine, scan_app, scan_url  # noqa: E402

from apigrade.checks.inventory.api_docs import DOCS_UI_PATHS, docs_ui_kind  # noqa: E402
from apigrade.checks.inventory.graphql import schema_types  # noqa: E402
from apigrade.checks.inventory.old_versions import split_version  # noqa: E402
from apigrade.checks.inventory.spec_drift import base_path, path_pattern  # noqa: E402

EXPECTED = {
    # check id: (severity, cwe, path)
    "inventory.openapi-spec": ("low", 200, "/openapi.json"),
    "inventory.api-docs-ui": ("info", 200, "/docs"),
    "inventory.graphql-introspection": ("low", 200, "/graphql"),
    "inventory.debug-endpoint": ("medium", 489, "/_debug"),
    "inventory.actuator-env": ("high", 538, "/actuator/env"),
    "inventory.actuator": ("low", 497, "/actuator"),
    "inventory.metrics": ("low", 497, "/metrics"),
    "inventory.server-status": ("low", 497, "/server-status"),
    "inventory.old-api-version": ("low", 1059, "/api/v1/items"),
    "inventory.old-api-version-unprotected": ("high", 306, "/api/v1/orders"),
    "inventory.undocumented-endpoint": ("info", 1059, "/api/v2/stats"),
}


def _paths(report: apps.ScanReport, check_id: str) -> set[str]:
    return {urlsplit(f.url).path for f in by_check(report, check_id)}


def _assert_flawed(report: apps.ScanReport) -> None:
    assert not [e for e in report.errors if e.startswith("check ")], report.errors
    for check_id, (severity, cwe, path) in EXPECTED.items():
        found = by_check(report, check_id)
        assert found, (check_id, [f.check_id for f in report.findings])
        assert path in _paths(report, check_id), (check_id, _paths(report, check_id))
        for f in found:
            assert f.category == "inventory" and f.owasp == "API9:2023"
            assert f.cwe == cwe and f.evidence and f.remediation
        assert any(f.severity == severity for f in found), (check_id, found)
    missing = _paths(report, "inventory.spec-endpoint-missing")
    assert missing == {"/api/v2/reports", "/api/v2/internal/jobs"}


def test_inventory_flaws_in_process() -> None:
    report = scan_app(apps.inventory_app(), only=INVENTORY)
    _assert_flawed(report)
    [spec] = by_check(report, "inventory.openapi-spec")
    assert "internal-looking paths documented: /api/v2/internal/jobs" in spec.evidence
    [env] = by_check(report, "inventory.actuator-env")
    assert '"activeProfiles":["prod"]' in env.evidence
    [debug] = by_check(report, "inventory.debug-endpoint")
    assert "s3cr3t-do-not-leak" not in debug.evidence  # only a key name is shown
    [ui] = by_check(report, "inventory.api-docs-ui")
    assert "Swagger UI page; loads the spec from /openapi.json" in ui.evidence
    [gql] = by_check(report, "inventory.graphql-introspection")
    assert gql.method == "GET" and "AdminMutation" in gql.evidence


def test_inventory_flaws_over_a_socket(serve: Callable[..., str]) -> None:
    report = scan_url(serve(apps.inventory_app()), only=INVENTORY)
    _assert_flawed(report)


def test_fixed_inventory_app_has_no_findings(serve: Callable[..., str], tmp_path: Path) -> None:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(apps.FIXED_SPEC))
    app = apps.inventory_app(secure=True)
    for report in (
        scan_app(app, only=INVENTORY, spec=str(spec), active=True),
        scan_url(serve(app), only=INVENTORY, spec=str(spec)),
    ):
        assert not mine(report, INVENTORY), report.findings


def test_graphql_post_is_sent_only_with_active() -> None:
    app = apps.inventory_app(graphql_post_only=True)
    rec = apps.Recorder(app)
    passive = scan_app(rec, only=["inventory.graphql-introspection"])
    assert not by_check(passive, "inventory.graphql-introspection")
    assert not [m for m, *_ in rec.seen if m not in ("GET", "HEAD", "OPTIONS")]
    report = scan_app(app, only=["inventory.graphql-introspection"], active=True)
    [hit] = by_check(report, "inventory.graphql-introspection")
    assert hit.method == "POST"


def test_fastapi_builtin_docs_and_a_route_left_out_of_the_schema() -> None:
    ids = INVENTORY
    report = scan_app(apps.fastapi_app(), only=ids)
    assert _paths(report, "inventory.openapi-spec") == {"/openapi.json"}
    assert by_check(report, "inventory.openapi-spec")[0].severity == "info"
    assert _paths(report, "inventory.api-docs-ui") == {"/docs", "/redoc"}
    kinds = {
        f.evidence.split(": ", 1)[1].split(" page")[0]
        for f in by_check(report, "inventory.api-docs-ui")
    }
    assert kinds == {"Swagger UI", "ReDoc"}
    assert _paths(report, "inventory.undocumented-endpoint") == {"/api/status"}
    assert not by_check(report, "inventory.spec-endpoint-missing")  # /api/users/1 exists
    quiet = scan_app(apps.fastapi_app(docs=False), only=ids)
    assert not mine(quiet, ids), quiet.findings


def test_request_bounds() -> None:
    app = apps.inventory_app()
    assert 0 < extra_requests(app, ["inventory.api-docs-ui"]) <= len(DOCS_UI_PATHS) + 3
    assert extra_requests(app, ["inventory.openapi-spec"]) == 0  # cached from discovery
    assert 0 < extra_requests(app, ["inventory.graphql-introspection"]) <= 3
    assert 0 < extra_requests(app, ["inventory.old-api-version"]) <= 16 + 2
    assert 0 < extra_requests(app, ["inventory.spec-endpoint-missing"]) <= 15 + 1
    assert 0 <= extra_requests(app, ["inventory.undocumented-endpoint"]) <= 10 + 2


def test_pure_helpers() -> None:
    sv = split_version("/api/v3/users/7")
    assert sv is not None and (sv.prefix, sv.version, sv.rest) == ("/api", 3, "/users/7")
    assert sv.at(1) == "/api/v1/users/7" and split_version("/api/users") is None
    assert base_path(["/api/v2/users", "/api/v2/users/{id}", "/api/v2/me"]) == "/api/v2"
    assert base_path(["/api/v2/users"]) == "/api/v2"
    assert path_pattern("/users/{id}/orders").match("/users/7/orders")
    assert not path_pattern("/users/{id}").match("/users/7/orders")
    assert docs_ui_kind('<html><script>SwaggerUIBundle({url: "/o.json"})</script></html>')
    assert docs_ui_kind("<html><redoc spec-url='/o.json'></redoc></html>") == "ReDoc"
    assert docs_ui_kind("var x = 'SwaggerUIBundle';") is None  # a script, not a page
    assert docs_ui_kind("<html><p>We use swagger for docs</p></html>") is None
    assert schema_types({"data": {"__schema": {"types": [{"name": "Query"}]}}}) == ["Query"]
    assert schema_types({"errors": [{"message": "introspection disabled"}]}) is None
