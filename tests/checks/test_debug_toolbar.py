"""Flask-DebugToolbar: the real extension, its Config panel, lookalike pages."""

from __future__ import annotations

from collections.abc import Callable

from apps_debug import TOOLBAR_KEY, by_check, scan_app, scan_url, toolbar_app, toolbar_lookalike_app

from apigrade.checks.context import CheckContext, KnowledgeBase, ScanState
from apigrade.checks.misconfiguration.debug_toolbar import (
    config_rows,
    debug_toolbar,
    is_toolbar_css,
    is_toolbar_page,
    signing_keys,
)
from apigrade.engine.http import Exchange, Probe, Response
from apigrade.engine.target import Target
from apigrade.redact import mask
from apps.catchall import create_app as catchall_app

TOOLBAR = "flask.debug-toolbar"
SECRET = "flask.debug-toolbar-secret-key"
ASSETS = "flask.debug-toolbar-assets"
ONLY = [TOOLBAR, ASSETS]


def _page(path: str = "/") -> str:
    return toolbar_app().test_client().get(path).get_data(as_text=True)


def test_real_toolbar_page_and_css_are_recognised() -> None:
    page = _page()
    assert is_toolbar_page(page)
    rows = config_rows(page)
    assert ("SECRET_KEY", TOOLBAR_KEY) in signing_keys(rows)
    css = toolbar_app().test_client().get("/_debug_toolbar/static/css/toolbar.css")
    assert css.status_code == 200 and is_toolbar_css(css.get_data(as_text=True))
    assert not is_toolbar_css(page) and not is_toolbar_page(css.get_data(as_text=True))


def test_toolbar_and_secret_key_are_reported(serve: Callable[..., str]) -> None:
    for report in (scan_app(toolbar_app(), only=ONLY), scan_url(serve(toolbar_app()), only=ONLY)):
        [bar] = by_check(report, TOOLBAR)
        assert bar.severity == "high" and bar.cwe == 489 and "ConfigVars" in bar.evidence
        [leak] = by_check(report, SECRET)
        assert leak.cwe == 538 and leak.category == "data-exposure" and leak.severity == "high"
        assert mask(TOOLBAR_KEY) in leak.evidence and TOOLBAR_KEY not in leak.evidence
        assert "SQLALCHEMY_DATABASE_URI=" in leak.evidence and "hunter2pass" not in leak.evidence
        assert not by_check(report, ASSETS)  # the pages show it: one finding, not two


def test_secret_key_is_handed_to_the_session_checks() -> None:
    target = Target.parse("http://testserver/")
    state = ScanState(target=target, engine=None, baseline=None)  # type: ignore[arg-type]
    ctx = CheckContext(state, TOOLBAR, lambda check_id, hit: None)
    body = _page().encode()
    resp = Response(status=200, headers=(("Content-Type", "text/html; charset=utf-8"),), body=body)
    ex = Exchange(probe=Probe(url=target.url), response=resp, url=target.url)
    hits = list(debug_toolbar(ex, ctx))
    assert [h.check for h in hits] == [None, SECRET]
    assert state.kb.secret_keys == [(TOOLBAR_KEY, target.url)]
    list(debug_toolbar(ex, ctx))  # the same page again adds nothing
    assert state.kb.secret_keys == [(TOOLBAR_KEY, target.url)]
    assert isinstance(state.kb, KnowledgeBase)


def test_hidden_toolbar_is_found_by_its_assets() -> None:
    report = scan_app(toolbar_app(hosts=["10.9.9.9"]), only=ONLY)  # DEBUG_TB_HOSTS excludes us
    assert not by_check(report, TOOLBAR) and not by_check(report, SECRET)
    [hit] = by_check(report, ASSETS)
    assert hit.severity == "medium" and hit.url.endswith("/_debug_toolbar/static/css/toolbar.css")


def test_lookalikes_and_catch_all_are_not_the_toolbar(serve: Callable[..., str]) -> None:
    for app in (toolbar_lookalike_app(), catchall_app()):
        for report in (scan_app(app, only=ONLY), scan_url(serve(app), only=ONLY)):
            assert not [f for f in report.findings if f.check_id in (TOOLBAR, SECRET, ASSETS)]
