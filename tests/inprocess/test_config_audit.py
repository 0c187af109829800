"""The configuration audit of live app objects (apigrade/inprocess/config_audit.py) and its
check (checks/misconfiguration/app_config.py): no request, masked values, framework fixes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from greyapps import django_app, grey_django

from apigrade import scan as scan_app
from apigrade.checks import load_checks
from apigrade.checks.registry import REGISTRY
from apigrade.inprocess.config_audit import audit, key_issue, key_weakness, known_key
from apigrade.model import Severity

STRONG = "9c1f0e7b3a5d48e2b6f4a0c8d2e6f1a3b5c7d9e0f2a4b6c8"


def _kinds(app: object) -> dict[str, str]:
    result = audit(app)
    assert result is not None
    return {i.kind: i.evidence for i in result.issues}


def _flask(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=STRONG, SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=1), MAX_CONTENT_LENGTH=1 << 20,
                      PREFERRED_URL_SCHEME="https")  # fmt: skip
    app.config.update(config)
    return app


def test_key_weakness_and_wordlists(tmp_path: Path) -> None:
    assert key_weakness("") == "not set"
    assert key_weakness("hunter2") == "only 7 characters"
    assert key_weakness("a" * 40) is not None and "entropy" in str(key_weakness("a" * 40))
    assert "startproject" in str(key_weakness("django-insecure-" + STRONG))
    assert key_weakness(STRONG) is None
    assert known_key("changeme") == "built-in defaults"
    assert known_key(STRONG) is None
    words = tmp_path / "words.txt"
    words.write_text("first\n" + STRONG + "\r\nlast\n")
    assert known_key(STRONG, str(words)) == "words.txt"  # the --wordlist, CRLF lines too
    issue = key_issue("flask", "changeme", "", "built-in defaults")
    assert issue.severity is Severity.CRITICAL and "changeme" not in issue.evidence
    assert "c******e" in issue.evidence and "secrets.token_hex" in issue.remediation


def test_flask_defaults_and_a_hardened_config() -> None:
    kinds = _kinds(Flask(__name__))  # a default Flask app: no key, so no session cookie
    assert {"app-config.no-body-limit", "app-config.url-scheme",
            "app-config.no-security-headers", "app-config.no-rate-limiter"} == set(kinds)  # fmt: skip
    keyed = Flask(__name__)
    keyed.config["SECRET_KEY"] = STRONG  # sessions: the cookie's defaults count
    kinds = _kinds(keyed)
    assert {"app-config.session-cookie-secure", "app-config.session-cookie-samesite",
            "app-config.session-lifetime"} <= set(kinds)  # fmt: skip
    assert kinds["app-config.session-lifetime"] == "PERMANENT_SESSION_LIFETIME = 31 days"
    hardened = _flask()
    from flask_limiter import Limiter
    from flask_limiter.util import get_remote_address
    from flask_talisman import Talisman

    Talisman(hardened, force_https=False)
    Limiter(get_remote_address, app=hardened, storage_uri="memory://")
    assert _kinds(hardened) == {}


def test_flask_debug_testing_toolbar_and_cors() -> None:
    from flask_cors import CORS
    from flask_debugtoolbar import DebugToolbarExtension

    app = _flask(DEBUG=True, TESTING=True, SESSION_COOKIE_HTTPONLY=False)
    DebugToolbarExtension(app)
    CORS(app, resources={r"/api/*": {"origins": "*"}}, supports_credentials=True)
    kinds = _kinds(app)
    assert {"app-config.debug", "app-config.testing", "app-config.debug-toolbar",
            "app-config.session-cookie-httponly", "app-config.cors-credentials"} <= set(kinds)  # fmt: skip
    assert "DEBUG_TB_INTERCEPT_REDIRECTS = True" in kinds["app-config.debug-toolbar"]
    named = _flask()
    CORS(named, origins=["https://app.example.com"], supports_credentials=True)
    assert "app-config.cors-credentials" not in _kinds(named)
    public = _flask()
    CORS(public)  # any origin, no credentials: a public API
    assert "app-config.cors-credentials" not in _kinds(public)


def test_starlette_middleware_settings() -> None:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.middleware.sessions import SessionMiddleware
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    app = Starlette(debug=True, middleware=[
        Middleware(TrustedHostMiddleware, allowed_hosts=["*"]),
        Middleware(CORSMiddleware, allow_origin_regex=".*", allow_credentials=True),
        Middleware(SessionMiddleware, secret_key=STRONG, https_only=True, same_site="none",
                   max_age=90 * 86400),
    ])  # fmt: skip
    kinds = _kinds(app)
    assert set(kinds) == {"app-config.debug", "app-config.allowed-hosts", "app-config.cors-credentials",
                          "app-config.session-cookie-samesite", "app-config.session-lifetime"}  # fmt: skip
    assert "Starlette(debug=True)" == kinds["app-config.debug"]
    result = audit(app)
    assert result is not None and result.secret_key == STRONG
    clean = Starlette(
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=["api.example.com"])]
    )
    assert _kinds(clean) == {}


def test_django_middleware_and_toolbar() -> None:
    with django_app("fixed"):
        assert _kinds_django() == {}
        grey_django.override(
            MIDDLEWARE=[
                "debug_toolbar.middleware.DebugToolbarMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.middleware.security.SecurityMiddleware",
            ],
            DEBUG=True,
            SECURE_CONTENT_TYPE_NOSNIFF=False,
        )  # put back by django_app
        kinds = _kinds_django()
        assert {"app-config.debug", "app-config.debug-toolbar", "app-config.csrf-middleware",
                "app-config.clickjacking-middleware", "app-config.browser-protections"} <= set(kinds)  # fmt: skip
        assert (
            "AuthenticationMiddleware before SessionMiddleware"
            in kinds["app-config.middleware-order"]
        )


def _kinds_django() -> dict[str, str]:
    from django.core.handlers.wsgi import WSGIHandler

    return _kinds(WSGIHandler.__new__(WSGIHandler))


def test_unknown_apps_and_url_scans_have_no_audit() -> None:
    def wsgi(environ: object, start_response: object) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    assert audit(wsgi) is None
    report = scan_app(wsgi, only=["app-config.debug"])
    assert report.findings == [] and report.requests_sent >= 1


def test_the_check_sends_nothing_and_reports_masked_values() -> None:
    app = _flask(DEBUG=True, SECRET_KEY="changeme")
    report = scan_app(app, only=["app-config.debug"])
    ids = {f.check_id for f in report.findings}
    assert {"app-config.debug", "app-config.weak-secret-key"} <= ids
    assert "changeme" not in report.model_dump_json()
    debug = next(f for f in report.findings if f.check_id == "app-config.debug")
    assert debug.parameter == "DEBUG" and "app.run(debug=True)" in debug.remediation
    assert debug.url == "http://testserver/"


@pytest.mark.parametrize(
    "kind",
    [
        "app-config.debug",
        "app-config.weak-secret-key",
        "app-config.cors-credentials",
        "app-config.session-cookie-secure",
    ],
)
def test_kinds_fit_the_contract_table(kind: str) -> None:
    load_checks()
    meta = REGISTRY.meta(kind)
    expected = {"app-config.debug": (489, "misconfiguration"),
                "app-config.weak-secret-key": (1391, "authentication"),
                "app-config.cors-credentials": (942, "unsafe-consumption"),
                "app-config.session-cookie-secure": (614, "encryption")}[kind]  # fmt: skip
    assert (meta.cwe, meta.category.value) == expected


def test_django_deploy_checks_beyond_the_own_kinds() -> None:
    with django_app("fixed"):
        grey_django.override(SECURE_HSTS_INCLUDE_SUBDOMAINS=False, SECURE_HSTS_PRELOAD=False,
                             X_FRAME_OPTIONS="SAMEORIGIN", SECURE_REFERRER_POLICY=None)  # fmt: skip
        result = audit(_handler())
        assert result is not None
        deploy = {i.setting: i for i in result.issues if i.kind == "app-config.django-deploy-check"}
        assert {"security.W005", "security.W019", "security.W021", "security.W022"} <= set(deploy)
        assert deploy["security.W021"].severity is Severity.INFO
        assert deploy["security.W005"].key == "SECURE_HSTS_INCLUDE_SUBDOMAINS"
        assert "manage.py check --deploy" in deploy["security.W019"].remediation
        # what the own kinds report is not repeated under Django's ids
        grey_django.override(DEBUG=True)
        again = audit(_handler())
        assert again is not None
        assert "security.W018" not in {i.setting for i in again.issues}


def _handler() -> object:
    from django.core.handlers.wsgi import WSGIHandler

    return WSGIHandler.__new__(WSGIHandler)
