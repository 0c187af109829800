"""Cross-site scripting: context-aware payloads, reported only when they come back executable."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apigrade.checks.common import html_context
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_fastapi  # noqa: E402
import apps_files  # noqa: E402
import apps_xss as apps  # noqa: E402

from apps.catchall import create_app as catchall_app  # noqa: E402
from conftest import by_check, scan_app, scan_url  # noqa: E402

CHECK = "xss.reflected"
STORED = "xss.stored"
Both = Callable[..., tuple[ScanReport, ScanReport]]


def _where(url: str) -> str:
    return url.split("?")[0].split("/", 3)[-1]


# -- the parser: contexts and proofs ---------------------------------------------------
@pytest.mark.parametrize(
    ("body", "context"),
    [
        ("<p>hi apgq</p>", "text"),
        ('{"echo": "apgq"}', "text"),  # JSON read as HTML: text
        ('<input value="apgq">', 'attr:":value'),
        ("<input value='x apgq'>", "attr:':value"),
        ("<input value=apgq>", "attr:-:value"),
        ('<script>var a = "apgq";</script>', 'script:"'),
        ("<script>var a = 'apgq';</script>", "script:'"),
        ("<script>var a = `x${apgq}`;</script>", "script:code"),
        ("<script>var n = apgq;</script>", "script:code"),
        ("<script>// apgq\n</script>", "script:comment"),
        ("<textarea>apgq</textarea>", "rcdata:textarea"),
        ("<title>apgq</title>", "rcdata:title"),
        ("<!-- apgq -->", "comment"),
        ('<a href="/x?apgq">', 'attr:":href'),
    ],
)
def test_contexts(body: str, context: str) -> None:
    assert html_context.contexts(body, "apgq") == [context]


def test_a_url_attribute_that_starts_with_the_marker() -> None:
    assert html_context.contexts('<a href="apgq/x">', "apgq") == ['attr:":href', 'url:":href']


def test_marker_in_style_or_escaped_is_no_context() -> None:
    assert html_context.contexts("<style>p{content:'apgq'}</style>", "apgq") == []
    assert html_context.contexts("<p>&lt;apgq&gt;</p>", "apgx") == []


@pytest.mark.parametrize(
    ("body", "how", "expected"),
    [
        ("<p><apgz></p>", "tag", True),
        ("<p>&lt;apgz&gt;</p>", "tag", False),  # escaped
        ("<textarea><apgz></textarea>", "tag", False),  # raw text: never markup
        ("<title><apgz></title>", "tag", False),
        ("<script>var a = '<apgz>';</script>", "tag", False),  # inside the script
        ('<script>var a = "</script><apgz>";</script>', "tag", True),
        ("<!-- <apgz> -->", "tag", False),
        ('<input value="" apgz=1 x="">', "attr", True),
        ('<a href="javascript:apgz(1)">x</a>', "url", True),
        ('<a href=" JaVa\tScRiPt:apgz(1)">x</a>', "url", True),
        ('<a href="/x?javascript:apgz(1)">x</a>', "url", False),
        ("<p>javascript:apgz(1)</p>", "url", False),
        ('<input value="&quot; apgz=1 x=&quot;">', "attr", False),
        ('<script>var a = ""-apgz-"";</script>', "code", True),
        ('<script>var a = "\\"-apgz-\\"";</script>', "code", False),  # quote escaped
        ('<script>var a = "\\u0022-apgz-\\u0022";</script>', "code", False),  # |tojson
        ("<script>var a = `${apgz}`;</script>", "code", True),
        ("<p>apgz</p>", "code", False),
    ],
)
def test_executes(body: str, how: str, expected: bool) -> None:
    assert html_context.executes(body, "apgz", how) is expected


# -- reflected, in-process and over a socket -------------------------------------------
def test_every_sink_is_found(scan_both: Both) -> None:
    for report in scan_both(apps.xss_app(), only=[CHECK]):
        found = {(_where(f.url), f.parameter): f for f in by_check(report, CHECK)}
        assert set(found) == {
            ("search", "q"),  # Markup() in HTML text
            ("profile", "name"),  # |safe in an unquoted attribute
            ("widget", "theme"),  # pasted into a script string
            ("legacy/echo", "msg"),  # JSON served as text/html
            ("apigrade-not-found", None),  # the 404 handler renders the path
            ("", "header:User-Agent"),  # the browser banner
            ("", "cookie:tz"),  # the target's own cookie, shown back
            ("find", "term"),  # a GET form's field, found in a crawled page
            ("bye", "next"),  # autoescaped, but a javascript: URL in href
        }
        for f in found.values():
            assert f.cwe == 79 and f.category == "input-validation" and f.owasp == "API8:2023"
            assert "unescaped" in f.evidence and "<apg" not in f.remediation
            assert "render_template" in f.remediation  # Flask first
        assert found[("profile", "name")].evidence.count("attribute") >= 1
        assert "JSON served as text/html" in found[("legacy/echo", "msg")].evidence
        assert found[("", "header:User-Agent")].severity == "medium"
        assert found[("", "cookie:tz")].severity == "medium"
        assert found[("search", "q")].severity == "high"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(apps.xss_fixed_app, id="autoescaped"),
        pytest.param(apps_files.spa_app, id="spa"),
        pytest.param(catchall_app, id="catch-all"),
    ],
)
def test_no_false_alarms(scan_both: Both, make: Callable[[], Any]) -> None:
    for report in scan_both(make(), only=[CHECK]):
        assert by_check(report, CHECK) == []


def test_json_and_plain_text_echoes_are_not_xss(scan_both: Both) -> None:
    for report in scan_both(apps.xss_app(), only=[CHECK]):
        where = {_where(f.url) for f in by_check(report, CHECK)}
        assert "api/echo" not in where and "plain" not in where


def _fastapi_both(app: Any) -> list[ScanReport]:
    reports = [scan_app(app, only=[CHECK])]
    with apps_fastapi.serve_asgi(app) as url:
        reports.append(scan_url(url, only=[CHECK]))
    return reports


def test_fastapi_html_response_built_from_input() -> None:
    for report in _fastapi_both(apps.fastapi_xss_app()):
        [f] = by_check(report, CHECK)
        assert f.parameter == "name" and _where(f.url) == "hello"  # not the JSON twin


def test_fastapi_escaped_html_response_is_clean() -> None:
    for report in _fastapi_both(apps.fastapi_xss_app(fixed=True)):
        assert by_check(report, CHECK) == []


def test_post_form_reflection_only_with_active(scan_both: Both) -> None:
    for report in scan_both(apps.contact_app(), only=[CHECK], active=True):
        [f] = by_check(report, CHECK)
        assert f.method == "POST" and f.parameter == "name" and _where(f.url) == "contact"
    assert by_check(scan_app(apps.contact_app(), only=[CHECK]), CHECK) == []


# -- stored (--active) -------------------------------------------------------------------
def test_stored_xss_needs_active(scan_both: Both) -> None:
    for report in scan_both(apps.guestbook_app(), only=[CHECK], active=True):
        [f] = by_check(report, STORED)
        assert f.method == "POST" and f.url.endswith("/sign") and f.cwe == 79
        assert "shows it as an element" in f.evidence
    assert by_check(scan_app(apps.guestbook_app(), only=[CHECK]), STORED) == []


def test_stored_xss_escaped_guestbook_is_clean(scan_both: Both) -> None:
    for report in scan_both(apps.guestbook_app(fixed=True), only=[CHECK], active=True):
        assert by_check(report, STORED) == [] and by_check(report, CHECK) == []


def test_stored_xss_through_a_json_create_endpoint(scan_both: Both) -> None:
    for report in scan_both(apps.comments_api_app(), only=[CHECK], active=True):
        [f] = by_check(report, STORED)
        assert f.method == "POST" and f.url.endswith("/api/comments") and "/comments" in f.evidence
    for report in scan_both(apps.comments_api_app(fixed=True), only=[CHECK], active=True):
        assert by_check(report, STORED) == []


def test_request_budget() -> None:
    app = apps.xss_app()
    discovery = scan_app(app, only=[]).requests_sent
    assert scan_app(app, only=[CHECK]).requests_sent - discovery <= 30 + 40
