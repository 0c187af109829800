"""Verbose errors: tracebacks, SQL errors, framework debug pages; docs pages stay quiet."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from apps_debug import DOCS_PAGE, PY_TRACE, by_check, debugged, errors_app, scan_app, scan_url

from apigrade.checks.context import CheckContext, ScanState
from apigrade.checks.data_exposure.verbose_errors import find_signs, verbose_errors
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.engine.target import Target
from apps.hardened import create_app as hardened_app

CHECK = "errors.verbose-error"

JAVA_TRACE = """java.lang.NullPointerException: Cannot invoke "User.getId()" because "u" is null
\tat com.shop.api.UserController.show(UserController.java:42)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
"""
DJANGO_404 = (
    '<html><body><h1>Page not found <small>(404)</small></h1><main id="info"><p>Using the '
    "URLconf defined in <code>shop.urls</code>, Django tried these URL patterns, in this order:"
    "</p><ol><li><code>admin/</code></li><li><code>api/</code></li></ol></main>"
    '<footer id="explanation"><p>You&#x27;re seeing this error because you have '
    "<code>DEBUG = True</code> in\n your Django settings file. Change that to <code>False</code>"
    "</p></footer></body></html>"
)
PHP_ERROR = "<br />\n<b>Fatal error</b>:  Uncaught Error: Call to undefined function db() in <b>/var/www/html/item.php</b> on line <b>12</b><br />"


def _by_path(report_findings: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {urlsplit(f.url).path: f for f in report_findings}


def test_verbose_errors_of_every_stack_are_found(serve: Callable[..., str]) -> None:
    app = errors_app()
    for report in (scan_app(app, only=[CHECK]), scan_url(serve(app), only=[CHECK])):
        found = _by_path(by_check(report, CHECK))
        assert set(found) == {"/trace", "/json-trace", "/sql", "/django/boom", "/node"}
        for f in found.values():
            assert f.cwe == 209 and f.category == "data-exposure" and f.owasp == "API8:2023"  # type: ignore[attr-defined]
        trace = found["/trace"]
        assert (
            "Python traceback" in trace.evidence and "/srv/shop/app/views.py:42" in trace.evidence
        )  # type: ignore[attr-defined]
        assert "ValueError" in found["/json-trace"].evidence  # type: ignore[attr-defined]
        sql = found["/sql"]
        assert sql.severity == "medium" and "SELECT * FROM items" in sql.evidence  # type: ignore[attr-defined]
        django = found["/django/boom"]
        assert (
            "Django DEBUG error page" in django.title and "Django Version: 5.1.4" in django.evidence
        )  # type: ignore[attr-defined]
        assert "Node.js stack trace" in found["/node"].evidence  # type: ignore[attr-defined]


def test_docs_page_that_talks_about_tracebacks_is_not_a_finding() -> None:
    assert find_signs(DOCS_PAGE, "text/html") != []  # it does quote a traceback...
    report = scan_app(errors_app(), only=[CHECK])
    assert "/docs" not in _by_path(by_check(report, CHECK))  # ...but it is an ordinary page
    prose = "<html><body><p>Read the Traceback from the bottom; SQL errors help.</p></body></html>"
    assert find_signs(prose, "text/html") == []


def test_more_signatures() -> None:
    kinds = {s.kind for s in find_signs(JAVA_TRACE, "text/plain")}
    assert kinds == {"Java stack trace"}
    [django] = find_signs(DJANGO_404, "text/html")
    assert django.kind == "Django DEBUG 404 page" and django.strong
    [php] = find_signs(PHP_ERROR, "text/html")
    assert php.kind == "PHP error" and "/var/www/html/item.php on line 12" in php.excerpt
    assert find_signs('{"error": "not found"}', "application/json") == []


def _exchange(url: str, body: str, status: int = 500, ctype: str = "text/plain") -> Exchange:
    resp = Response(status=status, headers=(("Content-Type", ctype),), body=body.encode())
    return Exchange(probe=Probe(url=url), response=resp, url=url)


def test_one_finding_per_path_and_credentials_masked() -> None:
    target = Target.parse("http://testserver/")
    ctx = CheckContext(
        ScanState(target=target, engine=None, baseline=None), CHECK, lambda c, h: None
    )  # type: ignore[arg-type]
    trace = PY_TRACE.replace("'abc'", "postgresql://shop:hunter2@db/shop")
    [hit] = verbose_errors(_exchange("http://testserver/api/x?a=1", trace), ctx)
    assert hit.url == "http://testserver/api/x" and "a=1" in hit.evidence
    assert "hunter2" not in hit.evidence and "shop:****@db" in hit.evidence
    assert list(verbose_errors(_exchange("http://testserver/ok", "fine", 200), ctx)) == []


def test_werkzeug_debugger_pages_are_left_to_their_own_check() -> None:
    report = scan_app(
        debugged(), only=[CHECK, "flask.werkzeug-debugger", "flask.werkzeug-traceback"]
    )
    assert by_check(report, "flask.werkzeug-traceback") and not by_check(report, CHECK)


def test_hardened_app_has_no_verbose_errors(serve: Callable[..., str]) -> None:
    app = hardened_app()
    for report in (scan_app(app, only=[CHECK]), scan_url(serve(app), only=[CHECK])):
        assert not by_check(report, CHECK)
