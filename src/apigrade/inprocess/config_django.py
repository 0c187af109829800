"""Django's live settings, as ``manage.py check --deploy`` judges them, and more."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from apigrade.inprocess.config_model import MAX_SESSION_SECONDS, Issue, days, seconds
from apigrade.model import Severity

SECURITY = "django.middleware.security.SecurityMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
COMMON = "django.middleware.common.CommonMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
CLICKJACKING = "django.middleware.clickjacking.XFrameOptionsMiddleware"


def issues(settings: Any) -> Iterator[Issue]:
    get = lambda name, default=None: getattr(settings, name, default)  # noqa: E731
    if get("DEBUG"):
        yield Issue("app-config.debug", "DEBUG", "DEBUG = True",
                    "`DEBUG = os.environ.get('DJANGO_DEBUG') == '1'` in settings.py "
                    "(off unless asked for); run `manage.py check --deploy` before each "
                    "release.", key="DEBUG")  # fmt: skip
    hosts = list(get("ALLOWED_HOSTS") or [])
    if "*" in hosts:
        yield Issue("app-config.allowed-hosts", "ALLOWED_HOSTS", f"ALLOWED_HOSTS = {hosts!r}",
                    "`ALLOWED_HOSTS = ['api.example.com']`: with '*' Django trusts any Host "
                    "header (password-reset links, cache poisoning).", key="ALLOWED_HOSTS")  # fmt: skip
    for name in ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        if not get(name):
            yield Issue("app-config.session-cookie-secure", name, f"{name} = {get(name)!r}",
                        f"`{name} = True` in the production settings.", key=name)  # fmt: skip
    if get("SESSION_COOKIE_HTTPONLY") is False:
        yield Issue("app-config.session-cookie-httponly", "SESSION_COOKIE_HTTPONLY",
                    "SESSION_COOKIE_HTTPONLY = False", "`SESSION_COOKIE_HTTPONLY = True` "
                    "(Django's default).", key="SESSION_COOKIE_HTTPONLY")  # fmt: skip
    if not get("SESSION_COOKIE_SAMESITE"):
        yield Issue("app-config.session-cookie-samesite", "SESSION_COOKIE_SAMESITE",
                    f"SESSION_COOKIE_SAMESITE = {get('SESSION_COOKIE_SAMESITE')!r}",
                    "`SESSION_COOKIE_SAMESITE = 'Lax'` (Django's default).",
                    key="SESSION_COOKIE_SAMESITE")  # fmt: skip
    age = seconds(get("SESSION_COOKIE_AGE"))
    if age is not None and age > MAX_SESSION_SECONDS:
        yield Issue("app-config.session-lifetime", "SESSION_COOKIE_AGE",
                    f"SESSION_COOKIE_AGE = {days(age)}",
                    "`SESSION_COOKIE_AGE = 12 * 3600` (Django's default is two weeks).",
                    key="SESSION_COOKIE_AGE")  # fmt: skip
    if get("DATA_UPLOAD_MAX_MEMORY_SIZE", 1) is None:
        yield Issue("app-config.no-body-limit", "DATA_UPLOAD_MAX_MEMORY_SIZE",
                    "DATA_UPLOAD_MAX_MEMORY_SIZE = None",
                    "`DATA_UPLOAD_MAX_MEMORY_SIZE = 2621440` (Django's default, 2.5 MB).",
                    key="DATA_UPLOAD_MAX_MEMORY_SIZE")  # fmt: skip
    if not get("SECURE_HSTS_SECONDS"):
        yield Issue("app-config.hsts", "SECURE_HSTS_SECONDS",
                    f"SECURE_HSTS_SECONDS = {get('SECURE_HSTS_SECONDS')!r}",
                    "`SECURE_HSTS_SECONDS = 31536000` with `SECURE_HSTS_INCLUDE_SUBDOMAINS = "
                    "True` once the whole site is served over HTTPS.",
                    key="SECURE_HSTS_SECONDS")  # fmt: skip
    if not get("SECURE_SSL_REDIRECT"):
        yield Issue("app-config.hsts", "SECURE_SSL_REDIRECT", "SECURE_SSL_REDIRECT = False",
                    "`SECURE_SSL_REDIRECT = True` (behind a proxy, with "
                    "`SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')`), unless "
                    "the proxy already redirects every plain-HTTP request.",
                    severity=Severity.INFO, key="SECURE_SSL_REDIRECT")  # fmt: skip
    if get("SECURE_CONTENT_TYPE_NOSNIFF") is False:
        yield Issue("app-config.browser-protections", "SECURE_CONTENT_TYPE_NOSNIFF",
                    "SECURE_CONTENT_TYPE_NOSNIFF = False", "`SECURE_CONTENT_TYPE_NOSNIFF = "
                    "True` (Django's default).", key="SECURE_CONTENT_TYPE_NOSNIFF")  # fmt: skip
    yield from _django_middleware(list(get("MIDDLEWARE") or []))
    yield from _django_deploy_checks()
    apps = list(get("INSTALLED_APPS") or [])
    middleware = list(get("MIDDLEWARE") or [])
    toolbar = any(m.startswith("debug_toolbar.") for m in middleware)
    if get("DEBUG") and "debug_toolbar" in apps and toolbar:
        callback = (get("DEBUG_TOOLBAR_CONFIG") or {}).get("SHOW_TOOLBAR_CALLBACK")
        yield Issue("app-config.debug-toolbar", "INSTALLED_APPS",
                    f"django-debug-toolbar installed with its middleware and DEBUG = True; "
                    f"INTERNAL_IPS = {list(get('INTERNAL_IPS') or [])!r}"
                    + (f"; SHOW_TOOLBAR_CALLBACK = {callback!r}" if callback else ""),
                    "Add `debug_toolbar` to INSTALLED_APPS and MIDDLEWARE only in the "
                    "development settings.", key="INSTALLED_APPS")  # fmt: skip
    if (get("CORS_ALLOW_ALL_ORIGINS") or get("CORS_ORIGIN_ALLOW_ALL")) and get(
        "CORS_ALLOW_CREDENTIALS"
    ):
        yield Issue("app-config.cors-credentials", "CORS_ALLOW_ALL_ORIGINS",
                    "CORS_ALLOW_ALL_ORIGINS = True with CORS_ALLOW_CREDENTIALS = True",
                    "django-cors-headers: `CORS_ALLOWED_ORIGINS = ['https://app.example.com']` "
                    "instead of allowing all origins.", key="CORS_ALLOW_ALL_ORIGINS")  # fmt: skip


#: ``manage.py check --deploy`` ids the kinds above already report
_DEPLOY_COVERED = frozenset(
    f"security.W{n:03d}" for n in (1, 2, 3, 4, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18)
)
#: the setting each other security check is about (for its source line)
_DEPLOY_SETTING = {
    "security.W005": "SECURE_HSTS_INCLUDE_SUBDOMAINS", "security.W019": "X_FRAME_OPTIONS",
    "security.W020": "ALLOWED_HOSTS", "security.W021": "SECURE_HSTS_PRELOAD",
    "security.W022": "SECURE_REFERRER_POLICY", "security.W024": "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "security.W025": "SECRET_KEY_FALLBACKS",
}  # fmt: skip
#: optional hardening: informational only
_DEPLOY_INFO = frozenset({"security.W021"})


def _django_deploy_checks() -> Iterator[Issue]:
    """Django's own deployment security checks (``manage.py check --deploy``) that the
    kinds above do not cover, run on the live settings (no environment needed)."""
    try:
        from django.core.checks import Tags, run_checks

        messages = run_checks(include_deployment_checks=True, tags=[Tags.security])
    except Exception:  # noqa: BLE001 - a project whose checks cannot run: skip them
        return
    for m in messages:
        msg_id = str(getattr(m, "id", "") or "")
        if not msg_id.startswith("security.") or msg_id in _DEPLOY_COVERED:
            continue
        hint = str(getattr(m, "hint", "") or "")
        yield Issue(
            "app-config.django-deploy-check", msg_id, f"{msg_id}: {str(m.msg)[:400]}",
            (hint + " " if hint else "") + "Run `python manage.py check --deploy` with the "
            "production settings before each release.",
            severity=Severity.INFO if msg_id in _DEPLOY_INFO else None,
            key=_DEPLOY_SETTING.get(msg_id),
        )  # fmt: skip


def _django_middleware(mw: list[str]) -> Iterator[Issue]:
    fix_order = ("Order MIDDLEWARE as Django documents it: SecurityMiddleware first, then "
                 "SessionMiddleware, CommonMiddleware, CsrfViewMiddleware, "
                 "AuthenticationMiddleware, MessageMiddleware, XFrameOptionsMiddleware.")  # fmt: skip
    if SECURITY not in mw:
        yield Issue("app-config.browser-protections", "SecurityMiddleware",
                    "MIDDLEWARE lacks django.middleware.security.SecurityMiddleware",
                    f"Add `'{SECURITY}'` as the first entry of MIDDLEWARE: it sends HSTS, "
                    "nosniff and the SSL redirect.", key="MIDDLEWARE")  # fmt: skip
    if CSRF not in mw:
        yield Issue("app-config.csrf-middleware", "CsrfViewMiddleware",
                    "MIDDLEWARE lacks django.middleware.csrf.CsrfViewMiddleware",
                    f"Add `'{CSRF}'` to MIDDLEWARE (after SessionMiddleware); exempt only "
                    "token-authenticated API views with `@csrf_exempt`.", key="MIDDLEWARE")  # fmt: skip
    if CLICKJACKING not in mw:
        yield Issue("app-config.clickjacking-middleware", "XFrameOptionsMiddleware",
                    "MIDDLEWARE lacks django.middleware.clickjacking.XFrameOptionsMiddleware",
                    f"Add `'{CLICKJACKING}'` to MIDDLEWARE (X_FRAME_OPTIONS = 'DENY').",
                    key="MIDDLEWARE")  # fmt: skip
    pos = {name: i for i, name in enumerate(mw)}
    wrong = []
    if SECURITY in pos and any(
        pos[SECURITY] > pos.get(m, 1 << 30) for m in (SESSION, COMMON, CSRF)
    ):
        wrong.append("SecurityMiddleware after Session/Common/CsrfViewMiddleware")
    if AUTH in pos and SESSION in pos and pos[AUTH] < pos[SESSION]:
        wrong.append("AuthenticationMiddleware before SessionMiddleware")
    if CSRF in pos and AUTH in pos and pos[CSRF] > pos[AUTH] and SESSION not in pos:
        wrong.append("CsrfViewMiddleware after AuthenticationMiddleware")
    if wrong:
        yield Issue("app-config.middleware-order", "MIDDLEWARE", "; ".join(wrong), fix_order,
                    key="MIDDLEWARE")  # fmt: skip
