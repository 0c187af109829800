"""The shared injection-point model: which points a scan has, how each is probed, and the
shared reflection probe that picks the points the checks spend payloads on."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from apigrade.checks.common import injection
from apigrade.checks.common.injection import InjectionPoint, points, reflect
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.engine.target import Target
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_files  # noqa: E402
import apps_points  # noqa: E402
import apps_xss as apps  # noqa: E402

from apps.catchall import create_app as catchall_app  # noqa: E402
from conftest import by_check, scan_app  # noqa: E402

BASE = "http://127.0.0.1:5999"
SSTI = "ssti.template-injection"
Both = Callable[..., tuple[ScanReport, ScanReport]]


def _ex(url: str, body: str = "<p>hi</p>", status: int = 200, **headers: str) -> Exchange:
    hdrs = (("Content-Type", "text/html; charset=utf-8"), *headers.items())
    return Exchange(Probe(url=url), Response(status, tuple(hdrs), body.encode()), url)


class FakeCtx:
    """Just what the model reads; ``send`` answers with ``respond(probe)`` and records."""

    def __init__(
        self,
        endpoints: list[Endpoint],
        exchanges: list[Exchange],
        *,
        active: bool = False,
        user_cookie: str | None = None,
        respond: Callable[[Probe], str] = lambda p: "<p>nothing</p>",
    ) -> None:
        self.target = Target.parse(BASE + "/")
        self.endpoints = endpoints
        self.exchanges = exchanges
        self.active = active
        self.user_cookie = user_cookie
        self.sent: list[Probe] = []
        self._respond = respond
        self._memos: dict[str, Any] = {}

    def shared(self, name: str, factory: Callable[[], Any]) -> Any:
        if name not in self._memos:
            self._memos[name] = factory()
        return self._memos[name]

    async def send(self, probe: Probe) -> Exchange:
        self.sent.append(probe)
        return _ex(probe.url, self._respond(probe))


def _site(**kw: Any) -> FakeCtx:
    search = Endpoint(BASE + "/search", params=(Param("q", "query", "string", example="x"),
                      Param("page", "query", "integer", example="1")))  # fmt: skip
    greet = Endpoint(BASE + "/greet/ada")
    sign = Endpoint(BASE + "/sign", method="POST", params=(Param("msg", "form", "string"),),
                    source="form")  # fmt: skip
    exchanges = [
        _ex(BASE + "/", "<a href=/search?q=x>s</a>", **{"Set-Cookie": "lang=en; Path=/"}),
        _ex(BASE + "/greet/ada", "<h1>Hi ada</h1>"),
    ]
    return FakeCtx([search, greet, sign], exchanges, **kw)


def test_points_cover_every_place_a_value_reaches() -> None:
    ctx = _site()
    kinds = {(p.kind, p.name) for p in points(ctx)}  # type: ignore[arg-type]
    assert {("query", "q"), ("query", "page"), ("segment", injection.SEGMENT)} <= kinds
    assert ("missing", injection.MISSING) in kinds
    assert {("header", h) for h in (*injection.HEADERS, *injection.ROUTING_HEADERS)} <= kinds
    assert ("cookie", "lang") in kinds
    assert not any(k == "form" for k, _ in kinds)  # POST forms only with --active
    active = {(p.kind, p.name) for p in points(_site(active=True))}  # type: ignore[arg-type]
    assert ("form", "msg") in active


def test_missing_paths_at_root_and_under_known_prefixes() -> None:
    pts = points(_site(), ("missing",))  # type: ignore[arg-type]
    urls = [p.probe("apgmark").url for p in pts if p.probe("apgmark")]  # type: ignore[union-attr]
    assert urls[0] == BASE + "/apgmark" and BASE + "/greet/apgmark" in urls
    assert len(pts) <= injection.MAX_MISSING
    assert all(p.parameter is None and p.page.endswith(injection.MISSING_EXAMPLE) for p in pts)


def test_header_and_cookie_probes_stay_on_the_target() -> None:
    ctx = _site(user_cookie="session=abc; theme=dark")
    pts = {(p.kind, p.name): p for p in points(ctx)}  # type: ignore[arg-type]
    host = pts[("header", "Host")].probe("apgmark")
    assert host is not None and urlsplit(host.url).netloc == "127.0.0.1:5999"
    assert host.headers == (("Host", "apgmark"),)
    ua = pts[("header", "User-Agent")]
    assert ua.parameter == "header:User-Agent" and ua.label == "header 'User-Agent'"
    assert ua.probe("a\r\nX-Evil: 1") is None  # never a header split
    cookie = pts[("cookie", "lang")].probe("x';--")
    assert cookie is not None
    [(name, value)] = cookie.headers
    assert name == "Cookie" and value == "session=abc; theme=dark; lang=x'%3B--"


def test_reflection_is_batched_shared_and_bounded() -> None:
    def respond(p: Probe) -> str:  # reflects q and the Referer header only
        q = dict(parse_qsl(urlsplit(p.url).query)).get("q", "")
        return f"<p>{q}</p><p>{dict(p.headers).get('Referer', '')}</p>"

    ctx = _site(respond=respond)
    pts = points(ctx)  # type: ignore[arg-type]

    async def run() -> dict[Any, injection.Reflection]:
        first = await reflect(ctx, pts)  # type: ignore[arg-type]
        sent = len(ctx.sent)
        again = await reflect(ctx, pts)  # type: ignore[arg-type]
        assert len(ctx.sent) == sent  # shared: each point is probed once per scan
        assert again == first
        return first

    found = asyncio.run(run())
    reflected = {(p.kind, p.name) for p in pts if found[p.key].reflected}
    assert reflected == {("query", "q"), ("header", "Referer")}
    pages = len({p.endpoint.url for p in pts if p.kind == "header"})
    # q and page apart (a number), the plain headers together, Host and X-Original-URL alone
    expected = 2 + pages * 3 + 1 + len([p for p in pts if p.kind in ("segment", "missing")])
    assert len(ctx.sent) == expected <= injection.MAX_REFLECTION_REQUESTS
    ranked = injection.by_evidence(pts, found)
    assert {(p.kind, p.name) for p in ranked[:2]} == reflected


def test_form_fields_share_one_post_and_only_with_active() -> None:
    form = Endpoint(BASE + "/sign", method="POST", source="form", params=(
        Param("name", "form", "string"), Param("message", "form", "string")))  # fmt: skip
    ctx = FakeCtx([form], [], active=True, respond=lambda p: (p.body or b"").decode())
    found = asyncio.run(reflect(ctx, points(ctx, ("form",))))  # type: ignore[arg-type]
    [post] = ctx.sent
    assert post.method == "POST" and all(r.reflected for r in found.values()) and len(found) == 2
    assert points(FakeCtx([form], []), ("form",)) == []  # type: ignore[arg-type]


def test_the_cap_leaves_no_kind_untested() -> None:
    many = [Endpoint(f"{BASE}/p{i}", params=(Param("q", "query", "string"),)) for i in range(50)]
    ctx = FakeCtx(many, [_ex(BASE + "/", **{"Set-Cookie": "lang=en"})])
    asyncio.run(reflect(ctx, points(ctx)))  # type: ignore[arg-type]
    assert any(("Cookie", "lang=" + p.headers[0][1].split("=")[-1]) in p.headers
               for p in ctx.sent if p.headers)  # fmt: skip
    assert any(urlsplit(p.url).path.startswith("/apg") for p in ctx.sent)  # a missing path


def test_reflection_budget_is_capped() -> None:
    many = [Endpoint(f"{BASE}/p{i}", params=(Param("q", "query", "string"),)) for i in range(50)]
    ctx = FakeCtx(many, [])
    asyncio.run(reflect(ctx, points(ctx, ("query",))))  # type: ignore[arg-type]
    assert len(ctx.sent) == injection.MAX_REFLECTION_REQUESTS


def test_slot_users_still_get_slots() -> None:
    """An InjectionPoint is a Slot: checks written for slots take points unchanged."""
    from apigrade.checks.common.slots import Slot

    [p] = [p for p in points(_site(), ("query",)) if p.name == "q"]  # type: ignore[arg-type]
    assert isinstance(p, Slot) and isinstance(p, InjectionPoint)
    probe = p.probe("v'")
    assert probe is not None and "q=v%27" in probe.url and "page=1" in probe.url


# -- the new points reach the checks: SSTI through a 404 handler and a header ----------------
def test_ssti_through_the_not_found_page(scan_both: Both) -> None:
    for report in scan_both(apps.xss_app(), only=[SSTI]):
        [f] = by_check(report, SSTI)
        assert f.parameter is None and f.url.endswith("/" + injection.MISSING_EXAMPLE)
        assert f.severity == "critical" and "does not exist" in f.evidence


def test_ssti_through_a_header(scan_both: Both) -> None:
    for report in scan_both(apps.header_ssti_app(), only=[SSTI]):
        [f] = by_check(report, SSTI)
        assert f.parameter == "header:Referer" and f.severity == "critical"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(apps.xss_fixed_app, id="escaped-404-and-headers"),
        pytest.param(apps_files.spa_app, id="spa"),
        pytest.param(catchall_app, id="catch-all"),
    ],
)
def test_new_points_raise_no_false_ssti(scan_both: Both, make: Callable[[], Any]) -> None:
    for report in scan_both(make(), only=[SSTI]):
        assert by_check(report, SSTI) == []


def test_host_header_probe_reaches_the_target(serve: Callable[..., str]) -> None:
    """A Host probe goes to the target's socket: the app sees the changed Host header."""
    from flask import Flask, render_template_string, request

    app = Flask(__name__)

    @app.route("/")
    def index() -> Any:  # links built from the raw Host header, compiled as a template
        host = request.headers.get("Host", "")  # (request.host drops invalid hosts)
        return render_template_string("<a href='//" + host + "/about'>about</a>")

    @app.route("/about")
    def about() -> Any:
        return "<p>about</p>"

    url = serve(app)
    report = scan_app(app, only=[SSTI])
    assert [f.parameter for f in by_check(report, SSTI)] == ["header:Host"]
    from conftest import scan_url

    assert [f.parameter for f in by_check(scan_url(url, only=[SSTI]), SSTI)] == ["header:Host"]


# -- open redirect: a parameter picked by where its marker came back ------------------------
REDIRECT = "redirect.open-redirect"


def test_redirect_parameter_found_by_its_location_header(scan_both: Both) -> None:
    for report in scan_both(apps_points.redirect_app(), only=[REDIRECT]):
        [f] = by_check(report, REDIRECT)
        assert f.parameter == "to" and "apigrade-redirect.invalid" in f.evidence


def test_site_relative_redirect_is_clean(scan_both: Both) -> None:
    for report in scan_both(apps_points.redirect_app(fixed=True), only=[REDIRECT]):
        assert by_check(report, REDIRECT) == []


def test_checks_of_one_scan_share_the_reflection_probes() -> None:
    """XSS and SSTI together cost less than apart: the markers are sent once per scan."""
    app = apps.xss_fixed_app()  # clean: no confirmation probes, only reflection and payloads
    discovery = scan_app(app, only=[]).requests_sent
    xss = scan_app(app, only=["xss.reflected"]).requests_sent - discovery
    ssti = scan_app(app, only=[SSTI]).requests_sent - discovery
    both = scan_app(app, only=["xss.reflected", SSTI]).requests_sent - discovery
    assert both < xss + ssti


# -- SQL injection: error evidence from cookies and headers ----------------------------------
SQLI = "sqli.error-based"


@pytest.mark.parametrize(
    ("make", "parameter"),
    [
        pytest.param(apps_points.cookie_sqli_app, "cookie:TrackingId", id="tracking-cookie"),
        pytest.param(apps_points.header_sqli_app, "header:User-Agent", id="user-agent-log"),
    ],
)
def test_sql_error_from_a_cookie_or_header(
    scan_both: Both, make: Callable[..., Any], parameter: str
) -> None:
    for report in scan_both(make(), only=[SQLI]):
        [f] = by_check(report, SQLI)
        assert f.parameter == parameter and f.confidence == "certain" and f.cwe == 89
        assert "SQLite" in f.evidence and f.method == "GET"


@pytest.mark.parametrize(
    "make", [apps_points.cookie_sqli_app, apps_points.header_sqli_app], ids=["cookie", "header"]
)
def test_parameterised_queries_are_clean(scan_both: Both, make: Callable[..., Any]) -> None:
    for report in scan_both(make(fixed=True), only=[SQLI]):
        assert by_check(report, SQLI) == []


def test_sql_catch_all_is_clean(scan_both: Both) -> None:
    for report in scan_both(catchall_app(), only=[SQLI, SSTI, "xss.reflected"]):
        assert report.findings == []
