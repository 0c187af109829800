"""GraphQL: endpoints, IDEs, suggestions, stack traces, GET mutations, batching, aliases, depth.

Real Strawberry and Ariadne servers on Flask (tests/checks/apps_graphql.py), flawed and
fixed, in-process and over a socket; catch-all apps stay quiet; default mode sends no POST.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_graphql as gql  # noqa: E402
from apps_api import Recorder, by_check, extra_requests, mine, scan_app, scan_url  # noqa: E402

from apigrade.discovery.model import Endpoint  # noqa: E402
from apigrade.engine.scanner import Scan, ScanOptions  # noqa: E402
from apigrade.engine.target import Target  # noqa: E402
from apigrade.engine.transports import WSGIAppTransport  # noqa: E402
from apps.catchall import create_app as catchall_app  # noqa: E402

AUDIT = "graphql.ide-exposed"
INTRO = "inventory.graphql-introspection"
KINDS = [
    "graphql.ide-exposed", "graphql.field-suggestions", "graphql.error-details",
    "graphql.get-mutation", "graphql.batching", "graphql.alias-overloading",
    "graphql.no-depth-limit",
]  # fmt: skip
ONLY = [AUDIT, INTRO]


@pytest.fixture(autouse=True)
def _quiet_graphql_loggers() -> Iterator[None]:
    """The servers log every resolver error with its traceback: keep test output short."""
    names = ("strawberry.execution", "ariadne", "ariadne.errors")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    yield
    for lg, level in zip(loggers, levels, strict=True):
        lg.setLevel(level)


def _ids(report: object) -> set[str]:
    return {f.check_id for f in report.findings}  # type: ignore[attr-defined]


def _one(report: object, check_id: str) -> object:
    found = by_check(report, check_id)  # type: ignore[arg-type]
    assert len(found) == 1, (check_id, found)
    return found[0]


# -- Strawberry -----------------------------------------------------------------------
def test_strawberry_defaults_in_default_mode_get_only() -> None:
    rec = Recorder(gql.strawberry_app())
    report = scan_app(rec, only=ONLY)
    assert not [m for m, *_ in rec.seen if m not in ("GET", "HEAD", "OPTIONS")]
    # Strawberry refuses mutations over GET: the no-op GET mutation is not run, no finding
    assert _ids(report) == {AUDIT, INTRO, "graphql.field-suggestions"}
    ide = _one(report, AUDIT)
    assert ide.url.endswith("/graphql") and "GraphiQL" in ide.evidence
    assert ide.category == "misconfiguration" and ide.owasp == "API8:2023" and ide.cwe == 200
    sugg = _one(report, "graphql.field-suggestions")
    assert "Did you mean 'users'" in sugg.evidence and sugg.method == "GET" and sugg.cwe == 200
    for f in mine(report, KINDS):
        assert f.remediation and "Strawberry" in f.remediation


def test_strawberry_defaults_with_active_over_a_socket(serve: Callable[..., str]) -> None:
    report = scan_url(serve(gql.strawberry_app()), only=ONLY, active=True)
    ids = _ids(report)
    assert {"graphql.batching", "graphql.alias-overloading", "graphql.no-depth-limit"} <= ids
    # Strawberry refuses mutations over GET: the --active probe clears the suspicion
    assert "graphql.get-mutation" not in ids
    batch = _one(report, "graphql.batching")
    assert batch.method == "POST" and batch.category == "rate-limiting" and batch.cwe == 770
    assert batch.owasp == "API4:2023" and "10 results" in batch.evidence
    depth = _one(report, "graphql.no-depth-limit")
    assert "users{posts{author{" in depth.evidence and "not executed" in depth.evidence
    assert "100 aliased results" in _one(report, "graphql.alias-overloading").evidence


def test_fixed_strawberry_is_quiet(serve: Callable[..., str]) -> None:
    app = gql.strawberry_app(fixed=True)
    for report in (scan_app(app, only=ONLY, active=True), scan_url(serve(app), only=ONLY)):
        assert not mine(report, [*KINDS, INTRO]), report.findings


def test_fixed_strawberry_limits_hold_with_a_known_schema() -> None:
    """Introspection left on: the schema is known, and the limits still hold."""
    report = scan_app(gql.strawberry_app(fixed=True, introspection=True), only=ONLY, active=True)
    assert _ids(report) == {INTRO}, report.findings


# -- Ariadne --------------------------------------------------------------------------
def test_ariadne_debug_view_in_process() -> None:
    report = scan_app(gql.ariadne_app(), only=ONLY)
    assert {AUDIT, INTRO, "graphql.error-details", "graphql.field-suggestions",
            "graphql.get-mutation"} <= _ids(report)  # fmt: skip
    mut = _one(report, "graphql.get-mutation")  # default mode: the no-op GET mutation ran
    assert mut.confidence == "certain" and mut.cwe == 352 and "deletePost" in mut.evidence
    assert gql.POSTS  # nothing was deleted: no mutation field was ever selected
    trace = _one(report, "graphql.error-details")
    assert "Traceback (most recent call last)" in trace.evidence
    assert trace.category == "data-exposure" and trace.cwe == 209 and trace.owasp == "API8:2023"
    assert "debug=False" in trace.remediation


def test_ariadne_get_mutation_confirmed_with_active_over_a_socket(
    serve: Callable[..., str],
) -> None:
    report = scan_url(serve(gql.ariadne_app()), only=ONLY, active=True)
    mut = _one(report, "graphql.get-mutation")
    assert mut.confidence == "certain" and mut.severity == "medium"
    assert "mutation{__typename}" in mut.evidence and "deletePost" in mut.evidence
    assert gql.POSTS  # nothing was deleted: no mutation field was ever selected
    assert "graphql.error-details" in _ids(report)


def test_fixed_ariadne_is_quiet(serve: Callable[..., str]) -> None:
    app = gql.ariadne_app(fixed=True)
    for report in (scan_app(app, only=ONLY, active=True), scan_url(serve(app), only=ONLY)):
        assert not mine(report, [*KINDS, INTRO]), report.findings


# -- elsewhere, look-alikes, bounds ---------------------------------------------------
def test_an_endpoint_on_a_less_usual_path_is_found() -> None:
    """Discovery finds /api/v1/graphql; the introspection check then asks it too."""
    app = Flask("gql_v1")
    inner = gql.strawberry_app()
    app.wsgi_app = _mount("/api/v1", inner)  # type: ignore[method-assign]
    report = scan_app(app, only=ONLY)
    assert _one(report, INTRO).url.endswith("/api/v1/graphql")
    assert _one(report, AUDIT).url.endswith("/api/v1/graphql")
    assert _one(report, "graphql.field-suggestions").url.endswith("/api/v1/graphql")


def test_a_redirect_to_the_slashed_path_is_followed() -> None:
    """``/graphql`` redirecting to ``/graphql/`` (Flask strict slashes, Django APPEND_SLASH)."""
    app = gql.strawberry_app(path="/graphql/")
    eps = [e for e in _discovered(app) if e.graphql]
    assert eps and {e.url for e in eps} == {"http://testserver/graphql/"}
    report = scan_app(app, only=ONLY)
    assert _one(report, "graphql.field-suggestions").url.endswith("/graphql/")


def _mount(prefix: str, inner: Flask) -> Callable[..., object]:
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    return DispatcherMiddleware(NotFound(), {prefix: inner})


@pytest.mark.parametrize("make", [catchall_app, gql.json_catch_all], ids=["html", "json"])
def test_catch_all_apps_stay_quiet(make: Callable[[], Flask], serve: Callable[..., str]) -> None:
    app = make()
    for report in (scan_app(app, only=ONLY, active=True), scan_url(serve(app), only=ONLY)):
        assert not mine(report, [*KINDS, INTRO]), report.findings


def test_request_bounds() -> None:
    for app in (gql.strawberry_app(), gql.ariadne_app(), gql.json_catch_all()):
        assert 0 < extra_requests(app, [AUDIT]) <= 43
        assert 0 < extra_requests(app, [AUDIT], active=True) <= 63


# -- the schema as a spec -------------------------------------------------------------
def _discovered(app: Flask, active: bool = False) -> list[Endpoint]:
    scan = Scan(Target.parse("http://testserver/"), ScanOptions(only=[], active=active),
                WSGIAppTransport(app))  # fmt: skip
    asyncio.run(scan.run())
    return [e for e in scan.state.endpoints if e.source == "graphql"]


def test_discovery_turns_the_schema_into_operations() -> None:
    eps = {e.graphql.split("{")[1].split("(")[0]: e for e in _discovered(gql.strawberry_app())
           if e.graphql}  # fmt: skip
    assert set(eps) == {"users", "user", "searchPosts", "createPost"}
    user = eps["user"]
    assert user.method == "GET" and user.url == "http://testserver/graphql"
    assert [(p.name, p.location, p.type, p.example) for p in user.params] == [
        ("id", "graphql", "string", "1")
    ]
    assert user.graphql is not None and user.graphql.startswith("query($id:ID!){user(id:$id){")
    assert eps["createPost"].method == "POST"  # mutations never go over GET
    # a fixed server (introspection off) is still an endpoint, with no operations
    assert [(e.method, e.graphql) for e in _discovered(gql.strawberry_app(fixed=True))] == [
        ("GET", None)
    ]
    # a POST-only server is found only with --active (default mode sends no POST)
    assert _discovered(gql.ariadne_app(fixed=True)) == []
    assert [e.method for e in _discovered(gql.ariadne_app(fixed=True), active=True)] == ["POST"]


INJECTION = ["sqli.error-based", "ssti.template-injection"]


def test_injection_checks_run_on_graphql_arguments(serve: Callable[..., str]) -> None:
    app = gql.injectable_app()
    for report in (scan_app(app, only=INJECTION), scan_url(serve(app), only=INJECTION)):
        sqli = _one(report, "sqli.error-based")
        assert sqli.parameter == "term" and sqli.url.endswith("/graphql")
        assert "SQLite error" in sqli.evidence and sqli.method == "GET"
        ssti = _one(report, "ssti.template-injection")
        assert ssti.parameter == "name" and ssti.severity == "critical"
        assert ssti.url.endswith("/graphql")  # the endpoint, not the payload's URL
    fixed = gql.injectable_app(fixed=True)
    assert not mine(scan_app(fixed, only=INJECTION), INJECTION)


BOLA = ["bola.object-id-enumerable"]


def test_bola_check_reads_other_users_through_a_graphql_query(serve: Callable[..., str]) -> None:
    for report in (
        scan_app(gql.strawberry_app(), only=BOLA),
        scan_url(serve(gql.strawberry_app()), only=BOLA),
    ):
        hit = _one(report, "bola.object-id-enumerable")
        assert hit.parameter == "id" and "/graphql" in hit.url
        assert "email" in hit.evidence and "ada@example.com" not in hit.evidence  # masked
    # the fixed resolver answers only the caller's own record (introspection left on)
    quiet = scan_app(gql.strawberry_app(fixed=True, introspection=True), only=BOLA)
    assert not mine(quiet, BOLA), quiet.findings


def test_a_csrf_preventing_server_is_asked_with_preflight_headers() -> None:
    """Apollo-style CSRF prevention: a plain GET is refused, one with a preflight header
    runs; so GET queries are no CSRF risk there, and the rest is still examined."""
    rec = Recorder(gql.csrf_prevention_app())
    report = scan_app(rec, only=ONLY)
    assert not [m for m, *_ in rec.seen if m not in ("GET", "HEAD", "OPTIONS")]
    ids = _ids(report)
    assert {INTRO, "graphql.field-suggestions", AUDIT} <= ids
    assert "graphql.get-mutation" not in ids
    assert "operations" in _one(report, INTRO).evidence  # reported by the audit, with preflight
    assert any(h.get("apollo-require-preflight") == "true" for *_, h in rec.seen)
    eps = [e for e in _discovered(gql.csrf_prevention_app()) if e.graphql]
    assert len(eps) == 4  # the schema was read with the preflight header


def test_discovery_request_bound() -> None:
    """Discovery asks {__typename} on at most 8 paths (plus 8 POSTs with --active) and
    introspects each endpoint found once; the checks' identical probes are cached."""
    for make, active, typename, introspection in (
        (gql.json_catch_all, False, 8, 0),
        (gql.json_catch_all, True, 16, 0),
        (gql.strawberry_app, False, 8, 1),
    ):
        rec = Recorder(make())
        scan_app(rec, only=[], active=active)
        sent = [unquote(q) for _, _, q, _ in rec.seen] + [b.decode() for b in rec.bodies]
        assert sum("__typename" in s for s in sent) == typename
        assert sum("IntrospectionQuery" in s for s in sent) == introspection


def test_strawberry_on_fastapi_flawed_and_fixed() -> None:
    """The same schema behind FastAPI's router: in-process (ASGI) and under uvicorn."""
    from apps_fastapi import serve_asgi

    ids = [*ONLY, *BOLA]
    flawed = scan_app(gql.fastapi_app(), only=ids)
    assert {AUDIT, INTRO, "graphql.field-suggestions",
            "bola.object-id-enumerable"} <= _ids(flawed)  # fmt: skip
    assert "graphql.get-mutation" not in _ids(flawed)  # Strawberry refuses GET mutations
    with serve_asgi(gql.fastapi_app()) as url:
        over_socket = scan_url(url, only=ids, active=True)
    assert {"graphql.batching", "graphql.alias-overloading", "graphql.no-depth-limit"} <= _ids(
        over_socket
    )
    fixed = gql.fastapi_app(fixed=True)
    for report in (scan_app(fixed, only=ids, active=True), scan_app(fixed, only=ids)):
        assert not mine(report, [*KINDS, INTRO, *BOLA]), report.findings
