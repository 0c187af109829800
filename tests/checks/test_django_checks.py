"""Django as a target: DEBUG pages, the URLconf as endpoints, settings leaks, admin, signing."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apigrade.checks.misconfiguration import django_admin, django_debug, django_toolbar
from apigrade.crack import TokenKind, parse_token, verify_key
from apigrade.discovery import django as dj
from apigrade.engine.scanner import Scan, ScanOptions
from apigrade.engine.target import Target
from apigrade.engine.transports import WSGIAppTransport
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import apps_django as apps  # noqa: E402

from apps.catchall import create_app as catchall_app  # noqa: E402
from conftest import by_check, scan_app, scan_url  # noqa: E402

Both = Callable[..., tuple[ScanReport, ScanReport]]
MINE = ["django.debug-mode", "django.debug-settings", "django.admin-login",
        "django.secret-key-exposed", "django.debug-toolbar", "django.dev-server"]


def _page(app: Any, path: str) -> tuple[int, str, list[str]]:
    from werkzeug.test import Client

    resp = Client(app).get(path)
    return resp.status_code, resp.get_data(as_text=True), resp.headers.getlist("Set-Cookie")


# -- pure parsing on real Django pages ----------------------------------------------------


def test_urlconf_of_a_real_debug_404_page() -> None:
    status, text, _ = _page(apps.flawed_app(), "/robots.txt")
    assert status == 404
    conf = dj.parse_urlconf(text)
    assert conf is not None and conf.module == "apps_django_urls_flawed"
    assert conf.patterns == ("^static/(?P<path>.*)$", "", "api/items/<item_id>/",
                             "internal/reports/<int:year>/", "admin/")  # fmt: skip
    assert conf.names[1:4] == ("index", "item", "report")
    eps = {e.url: e for e in dj.urlconf_endpoints("http://h:8000/x/y", text)}
    assert set(eps) == {"http://h:8000/static/{path}", "http://h:8000/", "http://h:8000/api/items/{item_id}/",
                        "http://h:8000/internal/reports/{year}/", "http://h:8000/admin/"}  # fmt: skip
    [year] = eps["http://h:8000/internal/reports/{year}/"].params
    assert (year.name, year.location, year.type) == ("year", "path", "integer")
    assert all(e.source == "django-urlconf" for e in eps.values())


# The DEBUG 404 page before Django 3.1 (technical_404.html then): levels bare in the <li>.
OLD_404 = """<html><body><div id="info"><p>Using the URLconf defined in <code>shop.urls</code>,
  Django tried these URL patterns, in this order:</p>
  <ol>
      <li>
            ^news/(?P&lt;day&gt;\\d+)-(?P&lt;key&gt;[\\w-]+)/$
            [name=&#39;news&#39;]
      </li>
      <li>
            ^api/
            ^items/(?P&lt;pk&gt;[0-9]+)/$
            [name=&#39;item&#39;]
      </li>
  </ol></div>
<div id="explanation"><p>You're seeing this error because you have <code>DEBUG = True</code> in
  your Django settings file. Change that to <code>False</code>.</p></div></body></html>"""


def test_urlconf_of_an_older_debug_404_page() -> None:
    conf = dj.parse_urlconf(OLD_404)
    assert conf is not None and conf.module == "shop.urls" and conf.names == ("news", "item")
    eps = {e.url: [(p.name, p.type) for p in e.params]
           for e in dj.urlconf_endpoints("http://h/", OLD_404)}  # fmt: skip
    assert eps == {"http://h/news/{day}-{key}/": [("day", "integer"), ("key", "string")],
                   "http://h/api/items/{pk}/": [("pk", "integer")]}  # fmt: skip


@pytest.mark.parametrize(
    ("pattern", "path", "names"),
    [
        ("^api/(?P<pk>[0-9]+)/$", "/api/{pk}/", ["pk"]),
        ("^blog/(?P<slug>[-\\w]+)/(?P<n>\\d+)\\.json$", "/blog/{slug}/{n}.json", ["slug", "n"]),
        ("api/v1/items/<slug:s>/", "/api/v1/items/{s}/", ["s"]),
        ("files/<path:rest>", "/files/{rest}", ["rest"]),
        ("^(?:en|fr)/$", None, None),
        ("^search/.*$", None, None),
    ],
)
def test_patterns_become_templates(pattern: str, path: str | None, names: list[str] | None) -> None:
    made = dj.to_template(pattern)
    if path is None:
        assert made is None
        return
    assert made is not None and made[0] == path and [p.name for p in made[1]] == names


def test_pages_that_are_not_debug_pages_give_nothing() -> None:
    _, fixed_404, _ = _page(apps.fixed_app(), "/robots.txt")
    assert dj.parse_urlconf(fixed_404) is None and dj.urlconf_endpoints("http://h/", fixed_404) == []
    prose = ("<p>Django tried these URL patterns, in this order: <ol><li><code>admin/</code>"
             "</li></ol> (a blog post quoting the page)</p>")  # fmt: skip
    assert dj.parse_urlconf(prose) is None


def test_settings_leaks_of_a_real_500_page_are_masked() -> None:
    status, text, _ = _page(apps.flawed_app(), "/api/items/abc/")
    assert status == 500
    leaks = {leak.name: leak for leak in django_debug.settings_leaks(text)}
    assert set(leaks) == {"DATABASE_URL", "PAYMENTS_CREDENTIALS"}  # SECRET_KEY is masked
    assert apps.DB_PASSWORD not in leaks["DATABASE_URL"].shown
    assert leaks["DATABASE_URL"].shown.startswith("postgres://shop:S")
    assert "db.internal:5432" in leaks["DATABASE_URL"].shown
    assert leaks["PAYMENTS_CREDENTIALS"].shown != apps.FLAWED["PAYMENTS_CREDENTIALS"]
    assert django_debug.page_facts(text)["Exception Type"] == "ValueError"


def test_settings_leaks_of_the_plain_text_500_page() -> None:
    """Clients that do not accept text/html get technical_500.txt: the same settings."""
    from werkzeug.test import Client

    resp = Client(apps.flawed_app()).get("/api/items/abc/", headers={"Accept": "application/json"})
    assert resp.status_code == 500 and resp.mimetype == "text/plain"
    leaks = {leak.name for leak in django_debug.settings_leaks(resp.get_data(as_text=True))}
    assert leaks == {"DATABASE_URL", "PAYMENTS_CREDENTIALS"}
    assert django_debug.settings_leaks("DATABASE_URL = 'postgres://u:pw12345@h/db'\n") == []


def test_an_unmasked_secret_key_is_a_leak() -> None:
    assert django_debug._judge("SECRET_KEY", django_debug.CLEANSED) is None
    leak = django_debug._judge("SECRET_KEY", "django-insecure-abc123")
    assert leak is not None and leak.secret == "django-insecure-abc123" and "abc123" not in leak.shown
    assert django_debug._judge("SENTRY_DSN", "https://0123456789abcdef0123@o1.ingest.sentry.io/2")
    assert django_debug._judge("CACHES", "{'default': {'LOCATION': 'redis://:hunter22@r:6379'}}")
    assert django_debug._judge("TIME_ZONE", "Europe/Paris") is None
    assert django_debug._judge("LOGIN_URL", "/accounts/login/") is None
    assert django_debug._judge("PRIVATE_STORAGE_ROOT", "/srv/private2024") is None
    assert django_debug._judge("HASHID_SALT", "x9f3kq0zr7") is not None
    assert django_debug._judge("DATABASE_URL", "postgres://u:********************@h/db") is None


def test_admin_login_markup() -> None:
    _, text, _ = _page(apps.flawed_app(), "/admin/login/")
    assert django_admin.is_admin_login(text)
    assert not django_admin.is_admin_login('<form id="login-form"><input name="username"></form>')
    assert django_admin.admin_prefixes(["/admin/", "/backoffice-admin/", "/api/", "/x/{a}/"]) == [
        "/backoffice-admin/"
    ]


# -- the signing formats of a real Django site ---------------------------------------------


def test_real_django_signed_cookies_parse_and_verify() -> None:
    _, _, cookies = _page(apps.flawed_app(), "/")
    values = dict(c.split(";", 1)[0].strip().split("=", 1) for c in cookies)
    session = parse_token(values["sessionid"], name="sessionid")
    assert session is not None and session.kind is TokenKind.DJANGO
    assert session.payload == {"email": "ada@example.com", "role": "customer"}
    scheme = verify_key(session, apps.WEAK_KEY)
    assert scheme is not None and "django.contrib.sessions.backends.signed_cookies" in scheme.name
    messages = parse_token(values["messages"], name="messages")
    assert messages is not None
    scheme = verify_key(messages, apps.WEAK_KEY)
    assert scheme is not None and "cookie signer" in scheme.name
    assert verify_key(session, "not-the-key") is None


# -- scans: flawed and fixed, in-process and over a socket -----------------------------------


def test_flawed_site_debug_pages(scan_both: Both) -> None:
    for report in scan_both(apps.flawed_app(), only=MINE):
        [mode] = by_check(report, "django.debug-mode")
        assert mode.severity == "high" and mode.cwe == 489 and mode.category == "misconfiguration"
        assert "URLconf apps_django_urls_flawed lists 5 URL pattern(s)" in mode.evidence
        # the 500 came from a route only the URLconf listed, filled with a word
        assert "GET /api/items/apigrade/ -> 500: technical 500 page" in mode.evidence
        assert "Exception Type: ValueError" in mode.evidence
        leaks = {f.parameter: f for f in by_check(report, "django.debug-settings")}
        assert set(leaks) == {"DATABASE_URL", "PAYMENTS_CREDENTIALS"}
        assert all(f.cwe == 209 and f.severity == "high" for f in leaks.values())
        assert apps.DB_PASSWORD not in leaks["DATABASE_URL"].evidence
        assert "pk_live_4f9c" not in leaks["PAYMENTS_CREDENTIALS"].evidence
        [admin] = by_check(report, "django.admin-login")
        assert admin.severity == "low" and admin.url.endswith("/admin/login/")
        assert "django" in report.fingerprint.frameworks


def test_flawed_site_sessions_and_keys(scan_both: Both) -> None:
    checks = ["session.readable-contents", "auth.weak-signing-key"]
    for report in scan_both(apps.flawed_app(), only=checks):
        [readable] = by_check(report, "session.readable-contents")
        assert readable.parameter == "sessionid" and "email=a" in readable.evidence
        assert "ada@example.com" not in readable.evidence
        assert "SESSION_ENGINE" in readable.remediation  # the Django fix, not Flask-Session
        keys = {f.parameter: f for f in by_check(report, "auth.weak-signing-key")}
        assert set(keys) == {"sessionid", "messages"}
        assert "salt 'django.contrib.sessions.backends.signed_cookies'" in keys["sessionid"].evidence
        assert "cookie signer, salt 'django.contrib.messages'" in keys["messages"].evidence
        assert apps.WEAK_KEY not in keys["sessionid"].evidence


def test_secret_key_in_served_files() -> None:
    from apigrade.checks.data_exposure.django_secret_key import find_key

    assert find_key(apps.SETTINGS_PY) == ("Django settings assign SECRET_KEY", apps.WEAK_KEY)
    assert find_key("DJANGO_SECRET_KEY=k3y-from-env-1234\nDEBUG=0\n") == (
        "environment line DJANGO_SECRET_KEY", "k3y-from-env-1234")
    # not Django settings, a placeholder, or read from the environment only
    assert find_key('SECRET_KEY = "abc123def456"\n') is None
    assert find_key('ROOT_URLCONF = "a.urls"\nSECRET_KEY = "<your-secret-key>"\n') is None
    assert find_key('ROOT_URLCONF = "a.urls"\nSECRET_KEY = os.environ["DJANGO_SECRET_KEY"]\n') is None


def test_served_settings_key_reaches_the_key_check(scan_both: Both) -> None:
    only = ["django.secret-key-exposed", "auth.weak-signing-key", "files.python-config"]
    for report in scan_both(apps.flawed_app(), only=only):
        [f] = by_check(report, "django.secret-key-exposed")
        assert f.url.endswith("/static/settings.py") and f.cwe == 538 and f.severity == "high"
        assert "SECRET_KEY = 'c******e'" in f.evidence
        keys = by_check(report, "auth.weak-signing-key")
        assert keys and all("disclosed at /static/settings.py" in k.evidence for k in keys)


def test_toolbar_markup() -> None:
    from werkzeug.test import Client

    local = {"REMOTE_ADDR": "127.0.0.1"}
    page = Client(apps.toolbar_app()).get("/", environ_base=local).get_data(as_text=True)
    panels = django_toolbar.toolbar_panels(page)
    assert panels is not None and {"SQLPanel", "SettingsPanel", "RequestPanel"} <= set(panels)
    outsider = Client(apps.toolbar_app()).get("/", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert django_toolbar.toolbar_panels(outsider.get_data(as_text=True)) is None
    assert django_toolbar.toolbar_panels('<p>Add <code>&lt;div id="djDebug"&gt;</code></p>') is None


def test_toolbar_shown(scan_both: Both) -> None:
    for report in scan_both(apps.toolbar_app(), only=["django.debug-toolbar"]):
        [f] = by_check(report, "django.debug-toolbar")
        assert f.cwe == 489 and f.category == "misconfiguration"
        assert f.severity == "medium"  # scanned from the target's machine: maybe localhost only
        assert "SQLPanel" in f.evidence and "panel views under /__debug__/" in f.evidence
    for report in scan_both(apps.flawed_app(), only=["django.debug-toolbar"]):
        assert by_check(report, "django.debug-toolbar") == []


def test_runserver_banner() -> None:
    from apigrade.checks.misconfiguration.django_devserver import wsgiref_banner

    assert wsgiref_banner("WSGIServer/0.2 CPython/3.12.1") == ("0.2", "3.12.1")
    assert wsgiref_banner("WSGIServer/0.2 Python/3.11.7") == ("0.2", "3.11.7")
    assert wsgiref_banner("Werkzeug/3.1.3 Python/3.12.1") is None
    assert wsgiref_banner("gunicorn") is None
    with apps.serve_runserver(apps.flawed_app()) as url:
        report = scan_url(url, only=["django.dev-server", "django.debug-mode"])
    [f] = by_check(report, "django.dev-server")
    assert f.severity == "low" and "WSGIServer/0.2 CPython/" in f.evidence  # loopback target
    assert by_check(report, "django.debug-mode")  # the DEBUG pages look the same here
    report = scan_app(apps.fixed_app(), only=["django.dev-server"])
    assert by_check(report, "django.dev-server") == []


def test_debug_404_feeds_discovery() -> None:
    scan = Scan(Target.parse("http://testserver/"), ScanOptions(only=[]),
                WSGIAppTransport(apps.flawed_app()))  # fmt: skip
    asyncio.run(scan.run())
    eps = {e.url: e for e in scan.state.endpoints}
    assert eps["http://testserver/internal/reports/{year}/"].source == "django-urlconf"
    assert "http://testserver/api/items/{item_id}/" in eps
    fixed = Scan(Target.parse("http://testserver/"), ScanOptions(only=[]),
                 WSGIAppTransport(apps.fixed_app()))  # fmt: skip
    asyncio.run(fixed.run())
    assert not any(e.source == "django-urlconf" for e in fixed.state.endpoints)


def test_fixed_site_is_clean(scan_both: Both) -> None:
    checks = [*MINE, "session.readable-contents", "auth.weak-signing-key", "errors.verbose-error",
              "files.python-config"]
    for report in scan_both(apps.fixed_app(), only=checks):
        assert [f.check_id for f in report.findings if f.check_id in checks] == []
        assert "django" in report.fingerprint.frameworks


def test_catch_all_app_is_clean(scan_both: Both) -> None:
    for report in scan_both(catchall_app(), only=MINE):
        assert by_check(report, "django.debug-mode") == []
        assert by_check(report, "django.admin-login") == []
        assert by_check(report, "django.debug-settings") == []


def test_request_budget() -> None:
    app = apps.flawed_app()
    discovery = scan_app(app, only=[]).requests_sent
    # 0 GETs for the 404 page (discovery has one), <= 3 for a 500, <= 3 admin logins
    assert scan_app(app, only=MINE).requests_sent - discovery <= 6


FOOTER = ("You're seeing this error because you have <code>DEBUG = True</code> in your Django "
          "settings file.")  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        FOOTER + "Django tried these URL patterns<ol>" + "<li><code>a/&lt;int:x&gt;/" * 60_000,
        FOOTER + "Django tried these URL patterns<ol>" + "<li><code>a/&lt;x&gt;</code></li>" * 30_000,
        FOOTER + "Django tried these URL patterns<ol>" + "<li><code>^(?P<a(?P<" * 60_000,
        FOOTER + 'id="settings-info"' + '<tr><td>A_DSN</td><td class="code"><pre>' * 30_000,
        FOOTER + 'id="settings-info"' + "<tr><td>X</td><td class=\"code\"><pre>'a:b@" * 30_000,
        "\nSettings:\n" + "A_DSN = 'x://" * 40_000 + "\n" + FOOTER.replace("<code>", "").replace(
            "</code>", ""),
    ],
    ids=["unclosed-li", "many-patterns", "regex-groups", "unclosed-rows", "url-fragments",
         "text-rows"],
)
def test_parsers_are_fast_on_hostile_pages(body: str) -> None:
    import time

    start = time.perf_counter()
    dj.urlconf_endpoints("http://h/", body)
    django_debug.settings_leaks(body)
    django_debug.page_facts(body)
    assert time.perf_counter() - start < 3


def test_a_served_dotenv_key_of_another_framework_reaches_the_key_check(scan_both: Both) -> None:
    """A Flask site's .env: no django finding, but its key proves the session cookie."""
    import secrets

    from flask import Flask, session

    key = secrets.token_hex(24)  # strong: no wordlist has it
    app = Flask("dotenv_site")
    app.secret_key = key

    @app.route("/")
    def index() -> str:
        session["user"] = "ada"
        return "<!doctype html><html><body>shop</body></html>"

    @app.route("/.env")
    def dotenv() -> tuple[str, int, dict[str, str]]:
        return f"FLASK_APP=app.py\nSECRET_KEY={key}\n", 200, {"Content-Type": "text/plain"}

    only = ["django.secret-key-exposed", "auth.weak-signing-key", "files.dotenv"]
    for report in scan_both(app, only=only):
        assert by_check(report, "django.secret-key-exposed") == []
        [weak] = by_check(report, "auth.weak-signing-key")
        assert "disclosed by the target at /.env" in weak.evidence and key not in weak.evidence
