"""Passive signatures (kind = "passive"): header, cookie, content-type and status
conditions, matchers_condition and negative, the once scope, finding kinds, the strict
schema, and resolution in the analysis pool's workers (also for --signatures files)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, Response

from apigrade.checks import load_checks
from apigrade.checks import plugins as check_plugins
from apigrade.checks.registry import REGISTRY, RegistryError
from apigrade.checks.signature import load_file
from apigrade.checks.signature_match import Matcher
from apigrade.engine.analysis import ref_of
from apigrade.engine.http import Exchange, Probe
from apigrade.engine.http import Response as HttpResponse
from helpers_scan import by_check, scan_app

HEAD = """[[check]]
id = "{id}"
kind = "passive"
title = "t"
category = "misconfiguration"
severity = "low"
confidence = "firm"
cwe = 614
owasp = "API8:2023"
description = "d"
remediation = "r"
"""

COOKIE_SIG = (
    HEAD.format(id="sigtest.cookie")
    + """
once = "url"
matchers = [
  { type = "cookie", name = '(?i)^session', missing = ["secure", "httponly"] },
  { type = "status", status = [302], negative = true },
]
extractors = [{ name = "c", type = "header", headers = ["set-cookie"], regex = '(?i)^session' }]
evidence = "Set-Cookie: {{c|60}}"
"""
)

HEADER_SIG = (
    HEAD.format(id="sigtest.powered")
    + """
once = "origin"
matchers_condition = "or"
matchers = [
  { type = "header", name = ["X-Powered-By", "x-runtime"], regex = '\\d' },
  { type = "header", headers = ["X-Trace: ^on$"] },
]
evidence = "banner"

[[check.finding]]
id = "sigtest.no-store"
title = "HTML page may be cached"
severity = "info"
cwe = 525
description = "d2"
remediation = "r2"
matchers = [
  { type = "content-type", content_type = "text/html" },
  { type = "header", name = "cache-control", regex = 'no-store', negative = true },
]
evidence = "no Cache-Control: no-store"
"""
)


def target() -> Flask:
    app = Flask("sigtest")

    @app.get("/")
    def index() -> Response:
        resp = Response('<a href="/clean">c</a> <a href="/bad">b</a> <a href="/r">r</a>')
        resp.headers["X-Powered-By"] = "Express 4"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.get("/clean")
    def clean() -> Response:
        resp = Response("clean", mimetype="text/html")
        resp.set_cookie("session", "v", secure=True, httponly=True, samesite="Lax")
        resp.headers["X-Powered-By"] = "Express"  # no digit: no match
        return resp

    @app.get("/bad")
    def bad() -> Response:
        resp = Response("bad", mimetype="text/html")
        resp.set_cookie("session", "v", httponly=True)  # no Secure
        resp.set_cookie("other", "v")
        resp.headers["X-Trace"] = "on"
        return resp

    @app.get("/r")
    def redirect() -> Response:
        resp = Response("", status=302, headers={"Location": "/clean"})
        resp.set_cookie("session", "v")
        return resp

    return app


@pytest.fixture
def sig_folder(tmp_path: Path) -> Iterator[Path]:
    """The two files as a --signatures folder, registered for the test and removed after."""
    load_checks()
    folder = tmp_path / "sigs"
    folder.mkdir()
    (folder / "cookie.toml").write_text(COOKIE_SIG)
    (folder / "header.toml").write_text(HEADER_SIG)
    assert check_plugins.add_signatures(folder, "test") == 2
    yield folder
    for cid in ("sigtest.cookie", "sigtest.powered", "sigtest.no-store"):
        REGISTRY._checks.pop(cid, None)
        REGISTRY._metas.pop(cid, None)
        REGISTRY._parents.pop(cid, None)
    check_plugins._folders.discard(folder.resolve())


IDS = ["sigtest.cookie", "sigtest.powered"]


def test_passive_signatures_run_in_the_pool_on_every_response(sig_folder: Path) -> None:
    for cid in IDS:  # a worker can name them: they do not fall back to the scanner process
        assert ref_of(cid, REGISTRY._checks[cid].fn) is not None
    report = scan_app(target(), only=IDS)
    assert not report.errors, report.errors
    cookie = by_check(report, "sigtest.cookie")
    # /bad lacks Secure; /clean has both flags; /r is a redirect (negative status matcher)
    assert [f.url.rsplit("/", 1)[1] for f in cookie] == ["bad"]
    assert cookie[0].evidence.startswith("Set-Cookie: session=v;")
    powered = by_check(report, "sigtest.powered")
    # "or": the X-Powered-By digit on / and X-Trace on /bad; once = "origin": one finding
    assert len(powered) == 1 and urlsplit(powered[0].url).path == "/"
    # the finding kind (HTML pages without no-store: /clean, /bad) shares the check's scope
    no_store = by_check(report, "sigtest.no-store")
    assert [urlsplit(f.url).path for f in no_store] == ["/"]
    assert no_store[0].evidence == "no Cache-Control: no-store" and no_store[0].severity == "info"
    assert REGISTRY.emitters("sigtest.no-store")[0].id == "sigtest.powered"


def test_a_fresh_process_recreates_a_signatures_dir_check_by_file_and_id(
    sig_folder: Path,
) -> None:
    ref = ref_of("sigtest.cookie", REGISTRY._checks["sigtest.cookie"].fn)
    assert ref is not None and ref[3] == str((sig_folder / "cookie.toml").resolve())
    code = (
        "from apigrade.engine.analysis import _resolve\n"
        f"fn = _resolve({ref!r})\n"
        "print(fn.sig.meta.id, fn.sig.kind)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["sigtest.cookie", "passive"]


def _exchange(headers: list[tuple[str, str]], status: int = 200) -> Exchange:
    url = "http://127.0.0.1:1/x"
    return Exchange(Probe(url=url), HttpResponse(status, tuple(headers), b"<p>x</p>"), url)


def _matchers(text: str) -> tuple[Matcher, ...]:
    return load_file_text(text)[0].matchers


def load_file_text(text: str, name: str = "m.toml") -> list:  # type: ignore[type-arg]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_text(text)
        return load_file(path)


def test_header_conditions_are_case_insensitive_on_names_and_see_repeated_values() -> None:
    [present, absent, regex] = _matchers(
        HEAD.format(id="sigtest.m")
        + """
evidence = "e"
matchers = [
  { type = "header", name = "X-Frame-Options" },
  { type = "header", name = "x-frame-options", negative = true },
  { type = "header", name = "CSP", regex = 'frame-ancestors' },
]"""
    )
    ex = _exchange([("x-frame-options", "DENY"), ("csp", "a"), ("Csp", "frame-ancestors 'none'")])
    assert present.matches(ex) and not absent.matches(ex) and regex.matches(ex)
    bare = _exchange([("X-Frame-Options", ""), ("CSP", "default-src 'self'")])
    assert not present.matches(bare) and absent.matches(bare) and not regex.matches(bare)


def test_matchers_condition_or_and_and() -> None:
    [sig] = load_file_text(HEADER_SIG)
    trace_only = _exchange([("X-Trace", "on"), ("X-Powered-By", "Express")])
    assert sig.condition == "or" and sig.matches(trace_only)
    assert not load_file_text(HEADER_SIG.replace('"or"', '"and"'))[0].matches(trace_only)
    assert not sig.matches(_exchange([("X-Trace", "off")]))


def test_cookie_conditions() -> None:
    [any_missing, all_missing, named] = _matchers(
        HEAD.format(id="sigtest.m")
        + """
evidence = "e"
matchers = [
  { type = "cookie", missing = ["secure", "samesite"] },
  { type = "cookie", missing = ["secure", "samesite"], condition = "and" },
  { type = "cookie", name = '^sid$' },
]"""
    )
    lax = _exchange([("Set-Cookie", "sid=1; SameSite=Lax")])
    assert any_missing.matches(lax) and not all_missing.matches(lax) and named.matches(lax)
    bare = _exchange([("Set-Cookie", "other=1")])
    assert all_missing.matches(bare) and not named.matches(bare)
    safe = _exchange([("Set-Cookie", "sid=1; Secure; SameSite=Strict")])
    assert not any_missing.matches(safe)
    assert not any_missing.matches(_exchange([]))  # no cookie at all: nothing is missing


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('kind = "passive"', 'kind = "pasive"', "kind: Input should be 'active' or 'passive'"),
        ('once = "url"', 'onse = "url"', "onse: Extra inputs are not permitted"),
        ('once = "url"', 'once = "page"', "once: Input should be 'url' or 'origin'"),
        ('once = "url"', 'paths = ["/x"]', "a passive signature sends nothing: remove 'paths'"),
        ('"httponly"]', '"httponli"]', "matchers.0.missing.1: Input should be"),
        ("negative = true", "negativ = true", "matchers.1.negativ: Extra inputs are not permitted"),
        ("{{c|60}}", "{{cookie}}", "the report uses {{cookie}}, not extracted"),
        ('name = "c",', 'name = "c", internal = true,', "the report uses {{c}}, not extracted"),
        ('type = "header", headers', 'type = "header", header', "extractors.0.header: Extra"),
        ('evidence = "Set', 'evidense = "Set', "evidense: Extra inputs are not permitted"),
        ('once = "url"', 'requires = ["flask"]', "'requires' is for active signatures"),
        ('evidence = "Set-Cookie: {{c|60}}"', "", "a passive signature needs 'evidence'"),
    ],
)
def test_passive_schema_typos_are_rejected(old: str, new: str, message: str) -> None:
    assert load_file_text(COOKIE_SIG)[0].kind == "passive"
    bad = COOKIE_SIG.replace(old, new, 1)
    assert bad != COOKIE_SIG
    with pytest.raises(RegistryError) as err:
        load_file_text(bad, "bad.toml")
    assert message in str(err.value) and str(err.value).startswith("bad.toml")
    assert "\n" not in str(err.value)


# -- the converted checks keep the Python checks' behaviour, edge cases included ---------

BASE = "http://127.0.0.1:5000/"


def _shipped(check_id: str, headers: list[tuple[str, str]], **kw: object) -> list[tuple]:  # type: ignore[type-arg]
    from typing import Any, cast

    from apigrade.checks.context import CheckContext, ScanState
    from apigrade.target import Target

    load_checks()
    state = ScanState(target=Target.parse(BASE), engine=cast(Any, None), baseline=cast(Any, None))
    url = str(kw.get("url", BASE))
    probe = Probe(url=url, method=str(kw.get("method", "GET")), raw_target=kw.get("raw"))  # type: ignore[arg-type]
    status = int(kw.get("status", 200))  # type: ignore[call-overload]
    ex = Exchange(probe, HttpResponse(status, tuple(headers), b"<html></html>"), url)
    hits = REGISTRY._checks[check_id].fn(ex, CheckContext(state, check_id, lambda k, h: None))
    return [(h.check or check_id, h.url, h.parameter, h.evidence) for h in hits]


HTML = ("Content-Type", "text/html; charset=utf-8")


def test_security_headers_judge_the_landing_page_only() -> None:
    kinds = {
        "headers.missing-csp",
        "headers.missing-frame-protection",
        "headers.missing-nosniff",
    }
    assert {h[0] for h in _shipped("headers.missing-csp", [HTML])} == kinds
    assert {h[1] for h in _shipped("headers.missing-csp", [HTML], url=BASE + "?q=1")} == {BASE}
    for other in ({"url": BASE + "page"}, {"method": "POST"}, {"raw": "/"}, {"status": 404}):
        assert _shipped("headers.missing-csp", [HTML], **other) == [], other
    assert _shipped("headers.missing-csp", [("Content-Type", "application/json")]) == []
    safe = [
        HTML,
        ("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"),
        ("X-Content-Type-Options", "NoSniff"),
    ]
    assert _shipped("headers.missing-csp", safe) == []
    # framing: X-Frame-Options alone is enough; the first nosniff value decides
    xfo = [HTML, ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff, x")]
    assert {h[0] for h in _shipped("headers.missing-csp", xfo)} == {"headers.missing-csp"}
    late = [HTML, ("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "x, nosniff")]
    assert "headers.missing-nosniff" in {h[0] for h in _shipped("headers.missing-csp", late)}


def test_banner_reports_each_versioned_value_on_the_target_url() -> None:
    headers = [
        ("Server", "nginx"),  # no version: nothing
        ("Server", "Werkzeug/3.1.3 Python/3.12.1"),
        ("X-Powered-By", "PHP/8.1.2"),
        ("X-AspNet-Version", "4.0.30319"),  # any value of an X-AspNet[Mvc]-Version header
    ]
    hits = _shipped("banner.version-disclosure", headers, url=BASE + "x")
    assert hits == [
        ("banner.version-disclosure", BASE, "server: Werkzeug/3.1.3 Python/3.12.1",
         "Server: Werkzeug/3.1.3 Python/3.12.1"),
        ("banner.version-disclosure", BASE, "x-powered-by: PHP/8.1.2", "X-Powered-By: PHP/8.1.2"),
        ("banner.version-disclosure", BASE, "x-aspnet-version: 4.0.30319",
         "X-Aspnet-Version: 4.0.30319"),
    ]  # fmt: skip
    long = "Product/1.0 " + "x" * 300
    [(_, _, parameter, evidence)] = _shipped("banner.version-disclosure", [("Server", long)])
    assert parameter == "server: " + long[:80] and evidence == "Server: " + long[:200]
    assert _shipped("banner.version-disclosure", [("Server", "nginx")]) == []
