"""The composable scan API (checks, discovery settings) and the discovery the report carries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from apigrade.checks.context import CheckContext
from apigrade.checks.registry import REGISTRY, Check, CheckMeta
from apigrade.discovery.openapi import OPENAPI_PATHS
from apigrade.engine.checkset import CheckSet, DiscoverySettings
from apigrade.engine.scanner import Scan, ScanOptions, build_scan, run_scan
from apigrade.model import Category, Confidence, Discovery, ScanReport, Severity
from apigrade.report.json import json_schema
from apigrade.store.recording import stored_discovery
from apigrade.verify import no_spec_was_found

from .test_store_repository import report

TOKEN = "s3cr3t-token-value"
SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "t", "version": "1"},
    "paths": {"/items": {"get": {"responses": {"200": {"description": "ok"}}}}},
}


def app_with(paths_seen: list[str], spec_at: str | None = "/openapi.json") -> Any:
    """A WSGI app: an OpenAPI document at ``spec_at``, a page at /, 404 elsewhere."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        paths_seen.append(path)
        if path == spec_at:
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(SPEC).encode()]
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/html")])
            return [b"<html><title>t</title><a href='/about'>a</a></html>"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no"]

    return app


def scan(app: Any, options: ScanOptions | None = None, **parts: Any) -> tuple[Scan, ScanReport]:
    built = build_scan(app, options or ScanOptions(), **parts)
    return built, asyncio.run(built.run())


def _noop_meta(check_id: str) -> CheckMeta:
    return CheckMeta(
        id=check_id, title="t", category=Category.MISCONFIGURATION, severity=Severity.INFO,
        confidence=Confidence.CERTAIN, cwe=16, owasp="API8:2023", description="d",
        remediation="r",
    )  # fmt: skip


def recording_check(check_id: str, calls: list[str]) -> Check:
    async def fn(ctx: CheckContext) -> None:
        calls.append(check_id)
        await ctx.get(ctx.target.url_for(f"/probe-{check_id}"))

    return Check(meta=_noop_meta(check_id), kind="active", fn=fn, phase=1)


# -- CheckSet ---------------------------------------------------------------------------
def test_the_default_check_set_is_the_registry_filtered_by_only_and_skip() -> None:
    everything = CheckSet.registered()
    assert everything.ids == [c.id for c in REGISTRY.checks()]
    two = CheckSet.registered(only=["files.dotenv", "headers.missing-csp"])
    assert sorted(two.ids) == ["files.dotenv", "headers.missing-csp"]
    one = CheckSet.registered(only=["files.dotenv", "headers.missing-csp"], skip=["files.dotenv"])
    assert one.ids == ["headers.missing-csp"]
    assert one.passive and not one.active and one.progress_total == 1
    assert two.progress_total == 2


def test_a_check_set_replaces_by_id_in_place_and_refuses_a_taken_id() -> None:
    base = CheckSet.registered(only=["files.dotenv", "headers.missing-csp"])
    calls: list[str] = []
    mine = recording_check("files.dotenv", calls)
    swapped = base.replacing({"files.dotenv": mine, "not.there": recording_check("x.y", calls)})
    assert swapped.ids == base.ids
    assert [c for c in swapped.checks if c.id == "files.dotenv"] == [mine]
    added = swapped.adding([recording_check("extra.one", calls)])
    assert added.ids == [*base.ids, "extra.one"] and added.progress_total == 3
    with pytest.raises(ValueError, match="duplicate check ids"):
        added.adding([recording_check("extra.one", calls)])


def test_a_scan_runs_exactly_its_check_set_and_counts_progress_from_it() -> None:
    seen: list[str] = []
    calls: list[str] = []
    checks = CheckSet((recording_check("t.one", calls), recording_check("t.two", calls)))
    ticks: list[tuple[str, int, int]] = []
    built = build_scan(
        app_with(seen), ScanOptions(), checks=checks,
        progress=lambda label, done, total, _sent: ticks.append((label, done, total)),
    )  # fmt: skip
    assert built.total == 3
    asyncio.run(built.run())
    assert sorted(calls) == ["t.one", "t.two"]
    assert {"/probe-t.one", "/probe-t.two"} <= set(seen)
    assert [t[2] for t in ticks] == [3, 3, 3] and ticks[-1][1] == 3
    assert {p.removeprefix("/probe-") for p in seen if p.startswith("/probe-")} == {
        "t.one",
        "t.two",
    }


def test_the_default_checks_follow_the_options() -> None:
    built = build_scan(app_with([]), ScanOptions(only=["files.dotenv"]))
    assert built.checks.ids == ["files.dotenv"] and built.total == 2
    assert build_scan(app_with([]), ScanOptions(skip=["files.dotenv"])).checks.ids == [
        c.id for c in REGISTRY.checks() if c.id != "files.dotenv"
    ]


# -- discovery settings -------------------------------------------------------------------
def test_probe_specs_false_sends_no_request_to_the_spec_locations() -> None:
    probed, quiet = [], []
    _, on = scan(app_with(probed), checks=CheckSet())
    _, off = scan(
        app_with(quiet), checks=CheckSet(), discovery=DiscoverySettings(probe_specs=False)
    )
    spec_paths = set(OPENAPI_PATHS)
    assert spec_paths & set(probed) and "/openapi.json" in probed
    assert spec_paths & set(quiet) == set()
    assert on.discovery is not None and len(on.discovery.specs) == 1
    assert off.discovery is not None and off.discovery.specs == []
    assert off.requests_sent < on.requests_sent
    assert "/" in quiet and "/robots.txt" in quiet  # the rest of discovery still runs


def test_a_named_spec_is_read_even_without_spec_probing() -> None:
    seen: list[str] = []
    _, rep = scan(
        app_with(seen, spec_at="/api/doc.json"),
        ScanOptions(spec="http://testserver/api/doc.json"),
        checks=CheckSet(), discovery=DiscoverySettings(probe_specs=False),
    )  # fmt: skip
    assert "/api/doc.json" in seen and rep.discovery is not None
    assert rep.discovery.specs == ["http://testserver/api/doc.json"]
    assert rep.discovery.endpoints >= 2  # / and /items from the spec


# -- the report carries what the store needs ----------------------------------------------
def test_the_report_carries_the_specs_masked_and_the_recorder_stores_them() -> None:
    options = ScanOptions(
        headers=[("Authorization", f"Bearer {TOKEN}")],
        spec=f"http://testserver/openapi.json?key={TOKEN}",
    )
    _, rep = scan(app_with([]), options, checks=CheckSet())
    assert rep.discovery is not None and len(rep.discovery.specs) == 1
    assert TOKEN not in rep.discovery.specs[0] and "/openapi.json?key=" in rep.discovery.specs[0]
    assert TOKEN not in rep.model_dump_json()
    stored = stored_discovery(rep)
    assert stored == {"specs": rep.discovery.specs}
    assert not no_spec_was_found({"discovery": stored})


def test_a_scan_that_found_no_spec_is_recorded_as_such() -> None:
    _, rep = scan(app_with([], spec_at=None), checks=CheckSet())
    assert rep.discovery is not None and rep.discovery.specs == []
    assert rep.discovery.endpoints >= 1
    stored = stored_discovery(rep)
    assert stored is not None and no_spec_was_found({"discovery": stored})


def test_stored_discovery_keeps_order_caps_at_five_and_none_when_unknown() -> None:
    specs = [f"/s{i}.json" for i in range(7)]
    rep = report([]).model_copy(update={"discovery": Discovery(specs=specs, endpoints=9)})
    assert stored_discovery(rep) == {"specs": specs[:5]}
    assert stored_discovery(report([])) is None  # an older report, or discovery unfinished
    assert not no_spec_was_found({}) and not no_spec_was_found({"discovery": None})


def test_a_partial_report_before_discovery_says_nothing_about_it() -> None:
    built = build_scan(app_with([]), ScanOptions(), checks=CheckSet())
    assert built.partial_report().discovery is None
    assert built.responses() == ()


def test_responses_are_public_and_follow_the_scan() -> None:
    seen: list[str] = []
    built, _ = scan(app_with(seen), checks=CheckSet())
    paths = {r.url.removeprefix("http://testserver") for r in built.responses()}
    assert "/" in paths and "/robots.txt" in paths


def test_the_json_schema_and_older_reports_accept_discovery() -> None:
    schema = json.loads(json_schema())
    assert "discovery" in schema["properties"] and "discovery" not in schema.get("required", [])
    old = json.loads(report([]).model_dump_json())
    del old["discovery"]
    assert ScanReport.model_validate(old).discovery is None
    with pytest.raises(ValueError):
        Discovery.model_validate({"specs": [], "endpoints": 1, "extra": 1})


def test_run_scan_keeps_its_signature_and_on_start_sees_the_scan() -> None:
    started: list[Scan] = []
    rep = asyncio.run(
        run_scan(app_with([]), ScanOptions(only=["headers.missing-csp"]), on_start=started.append)
    )
    assert len(started) == 1 and started[0].checks.ids == ["headers.missing-csp"]
    assert rep.discovery is not None
