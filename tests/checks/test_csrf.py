"""CSRF (CWE-352): POST forms without a token, with a session cookie cross-site POSTs carry."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from apigrade.checks.common.csrf_forms import unprotected
from apigrade.discovery.html import extract_links
from apigrade.model import ScanReport

sys.path.insert(0, str(Path(__file__).resolve().parent))
import apps_files  # noqa: E402
import apps_sessions as apps  # noqa: E402

from conftest import by_check, scan_app  # noqa: E402

CHECK, LOGIN = "csrf.missing-token", "csrf.login-form"
Both = Callable[..., tuple[ScanReport, ScanReport]]


def kinds(html: str) -> list[str | None]:
    forms = extract_links("http://h/page", html).forms
    return [(k.kind if (k := unprotected(ep)) else None) for ep in forms]


def test_token_fields_of_the_common_frameworks() -> None:
    protected = [
        '<input type="hidden" name="csrfmiddlewaretoken" value="x">',  # Django
        '<input type="hidden" name="authenticity_token" value="x">',  # Rails
        '<input name="__RequestVerificationToken" type="hidden" value="x">',  # ASP.NET
        '<input type="hidden" name="_token" value="x">',  # Laravel
        '<input type="hidden" name="_csrf" value="x">',  # Express csurf, Spring
        '<input type="hidden" name="_wpnonce" value="x">',  # WordPress
        '<input type="hidden" name="form[_token]" value="x">',  # Symfony
        '<input type="hidden" name="0f3a9c0b1d2e3f4a5b6c7d8e9f0a1b2c" value="1">',  # Joomla
        '<input type="hidden" name="state" value="Zx81kQm2Lp0vT7aB3nR5">',  # a random value
    ]
    for field in protected:
        assert kinds(f'<form method="post" action="/x">{field}<input name="note"></form>') == [None]
    assert kinds('<form method="post"><input name="note"></form>') == ["state"]
    assert kinds('<form method="get"><input name="note"></form>') == [None]  # POST only
    assert kinds('<form method="post"><input name="q"></form>') == [None]  # a search box
    assert kinds('<form method="post" action="/account/delete"><button>x</button></form>') == [
        "state"
    ]
    assert kinds('<form method="post" action="/logout"><button>bye</button></form>') == [None]


def test_login_signup_and_change_password_forms() -> None:
    login = '<form method="post"><input name="email"><input type="password" name="password"></form>'
    signup = ('<form method="post"><input name="username"><input type="password" name="password">'
              '<input type="password" name="confirm_password"></form>')  # fmt: skip
    change = ('<form method="post"><input type="password" name="old_password">'
              '<input type="password" name="new_password"></form>')  # fmt: skip
    assert kinds(login) == kinds(signup) == ["login"]
    assert kinds(change) == ["state"]  # acts as the signed-in user: the serious case


def test_forms_without_token_and_cookie_without_samesite(scan_both: Both) -> None:
    for report in scan_both(apps.csrf_app(), only=[CHECK]):
        found = {f.url.rsplit("/", 1)[-1]: f for f in by_check(report, CHECK)}
        assert set(found) == {"email", "transfer"}  # not the GET search form, not /login
        for f in found.values():
            assert (f.method, f.severity, f.confidence, f.cwe) == ("POST", "low", "firm", 352)
            assert f.category == "misconfiguration" and f.owasp == "API8:2023"
            assert "without SameSite" in f.evidence and "'session'" in f.evidence
            assert "CSRFProtect" in f.remediation and "csrf_token" in f.remediation
        assert "fields: to, amount, currency" in found["transfer"].evidence
        [login] = by_check(report, LOGIN)
        assert login.url.endswith("/login") and (login.severity, login.confidence) == (
            "low",
            "tentative",
        )


def test_samesite_none_is_medium(scan_both: Both) -> None:
    for report in scan_both(apps.csrf_app(samesite="None"), only=[CHECK]):
        found = by_check(report, CHECK)
        assert len(found) == 2
        assert {(f.severity, f.confidence) for f in found} == {("medium", "firm")}
        assert "SameSite=None" in found[0].evidence


def test_flask_default_inferred_when_no_cookie_was_seen(scan_both: Both) -> None:
    """Only a login sets the session: Flask's default (no SameSite) is inferred, tentatively."""
    for report in scan_both(apps.csrf_app(eager=False), only=[CHECK]):
        found = by_check(report, CHECK)
        assert len(found) == 2
        assert {(f.severity, f.confidence) for f in found} == {("low", "tentative")}
        assert "SESSION_COOKIE_SAMESITE" in found[0].evidence
    # without a login form or a -b session there is no sign of a cookie session at all
    for report in scan_both(apps.csrf_app(eager=False, login=False), only=[CHECK]):
        assert by_check(report, CHECK) == []


def test_lax_cookie_protects_state_forms_not_login(scan_both: Both) -> None:
    for report in scan_both(apps.csrf_app(samesite="Lax"), only=[CHECK]):
        assert by_check(report, CHECK) == []
        assert len(by_check(report, LOGIN)) == 1  # login CSRF needs no session: SameSite moot


@pytest.mark.parametrize("active", [False, True])
def test_fixed_app_is_clean(scan_both: Both, active: bool) -> None:
    """Flask-WTF CSRFProtect with a token in every form, and SameSite=Lax."""
    for report in scan_both(apps.csrf_app(protected=True, samesite="Lax"), only=[CHECK],
                            active=active):  # fmt: skip
        assert by_check(report, CHECK) == by_check(report, LOGIN) == []


def test_tokens_alone_protect_even_without_samesite(scan_both: Both) -> None:
    for report in scan_both(apps.csrf_app(protected=True), only=[CHECK]):
        assert by_check(report, CHECK) == by_check(report, LOGIN) == []


def test_catch_all_app_has_no_findings(scan_both: Both) -> None:
    for report in scan_both(apps_files.spa_app(), only=[CHECK], active=True,
                            cookie="session=abc"):  # fmt: skip
        assert by_check(report, CHECK) == by_check(report, LOGIN) == []


def test_sends_nothing_of_its_own() -> None:
    app = apps.csrf_app()
    assert scan_app(app, only=[CHECK]).requests_sent == scan_app(app, only=[]).requests_sent


@pytest.mark.parametrize("protected", [False, True])
def test_django_forms(scan_both: Both, protected: bool) -> None:
    """Django: {% csrf_token %} with CsrfViewMiddleware is clean; @csrf_exempt forms are not."""
    with apps.django_settings_kept():
        reports = scan_both(apps.django_csrf_app(protected=protected), only=[CHECK])
    for report in reports:
        found = by_check(report, CHECK)
        if protected:
            assert found == [] and by_check(report, LOGIN) == []
            continue
        assert sorted(f.url.split("/", 3)[-1] for f in found) == ["cart/clear/", "profile/email/"]
        assert all(f.severity == "medium" and "'sessionid'" in f.evidence for f in found)
        assert "SameSite=None" in found[0].evidence
