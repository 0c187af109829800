"""Cookie attributes: HttpOnly, SameSite and lifetime of session-like cookies.

One finding per cookie name (URL = the target, parameter = the cookie name), whatever
page set it. ``Secure`` lives in ``encryption/cookie_secure.py`` (it matters on HTTPS only).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import finding_kind, passive
from apigrade.engine.http import Exchange, SetCookie
from apigrade.model import Confidence, Severity

#: Exact names of well-known session cookies (lower case).
SESSION_NAMES = frozenset(
    {"session", "sessionid", "remember_token", "jsessionid", "phpsessid", "connect.sid"}
)
_SESSION_LIKE = rx.compile(r"sess|sid|token|auth|remember|jwt|login", rx.I)
_CSRF_LIKE = rx.compile(r"csrf|xsrf", rx.I)
_JWT_VALUE = rx.compile(r"^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*$")
#: A session cookie living longer than this is reported.
MAX_SESSION_LIFETIME_S = 30 * 24 * 3600

_COMMON = dict(category="misconfiguration", owasp="API8:2023")

FLASK_COOKIE_CONFIG = (
    "In Flask: `app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True, "
    "SESSION_COOKIE_SAMESITE='Lax', PERMANENT_SESSION_LIFETIME=timedelta(minutes=30))`; "
    "for Flask-Login's remember cookie the same with `REMEMBER_COOKIE_SECURE`, "
    "`REMEMBER_COOKIE_HTTPONLY`, `REMEMBER_COOKIE_SAMESITE` and `REMEMBER_COOKIE_DURATION`. "
    "For a cookie set by hand: `resp.set_cookie(name, value, secure=True, httponly=True, "
    "samesite='Lax', max_age=1800)`. In Django: `SESSION_COOKIE_SECURE = True`, "
    "`SESSION_COOKIE_HTTPONLY = True`, `SESSION_COOKIE_SAMESITE = 'Lax'`."
)

finding_kind(
    id="cookie.missing-samesite",
    title="Session cookie without a SameSite attribute",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=1275,
    description=(
        "A session-like cookie is set without `SameSite` (or with `SameSite=None` but no "
        "`Secure`), so browsers may attach it to requests started by other sites, which "
        "enables cross-site request forgery. Browsers that default to Lax soften this, "
        "older ones and `SameSite=None` do not."
    ),
    remediation="Set `SameSite=Lax` (or `Strict`) on the cookie. " + FLASK_COOKIE_CONFIG,
    references=("https://cwe.mitre.org/data/definitions/1275.html",),
    **_COMMON,
)
finding_kind(
    id="cookie.long-lifetime",
    title="Session cookie lives longer than 30 days",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=613,
    description=(
        "A session-like cookie carries a Max-Age/Expires more than 30 days ahead: a stolen or "
        "forgotten session stays usable for that long. Flask's default "
        "PERMANENT_SESSION_LIFETIME is 31 days."
    ),
    remediation=(
        "Shorten the lifetime, e.g. Flask `PERMANENT_SESSION_LIFETIME=timedelta(minutes=30)` "
        "(and `REMEMBER_COOKIE_DURATION=timedelta(days=14)` for Flask-Login), and expire "
        "sessions on the server side too. " + FLASK_COOKIE_CONFIG
    ),
    references=("https://cwe.mitre.org/data/definitions/613.html",),
    **_COMMON,
)


def is_csrf_cookie(name: str) -> bool:
    """CSRF cookies (csrftoken, XSRF-TOKEN, csrf_access_token) must be readable by scripts."""
    return bool(_CSRF_LIKE.search(name))


def is_session_cookie(cookie: SetCookie) -> bool:
    """A cookie that identifies or authenticates the user (by name, or a JWT value)."""
    name = cookie.name.lower()
    if is_csrf_cookie(name):
        return False
    return name in SESSION_NAMES or bool(
        _SESSION_LIKE.search(name) or _JWT_VALUE.match(cookie.value)
    )


def _parse_http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def lifetime_seconds(cookie: SetCookie, response_date: str | None = None) -> float | None:
    """Seconds the cookie lives (Max-Age wins over Expires); None for a browser-session cookie."""
    max_age = cookie.get("max-age")
    if max_age is not None:
        try:
            return float(int(max_age.strip()))
        except ValueError:
            pass
    expires = _parse_http_date(cookie.get("expires"))
    if expires is None:
        return None
    now = _parse_http_date(response_date) or datetime.now(UTC)
    return (expires - now).total_seconds()


def is_deletion(cookie: SetCookie, response_date: str | None = None) -> bool:
    """A Set-Cookie that removes the cookie (logout): empty value or lifetime <= 0."""
    life = lifetime_seconds(cookie, response_date)
    return not cookie.value or (life is not None and life <= 0)


def set_cookies(exchange: Exchange) -> Iterator[SetCookie]:
    """Every Set-Cookie of a response that really sets a value."""
    date = exchange.response.header("date")
    for cookie in exchange.response.cookies:
        if not is_deletion(cookie, date):
            yield cookie


def remediation_for(cookie: SetCookie, flag: str) -> str | None:
    """A fix naming the Flask setting for this very cookie, where there is one."""
    name = cookie.name.lower()
    setting = {"httponly": "HTTPONLY", "samesite": "SAMESITE", "secure": "SECURE"}[flag]
    value = {"httponly": "True", "samesite": "'Lax'", "secure": "True"}[flag]
    if name == "session":
        return f"In Flask set `SESSION_COOKIE_{setting} = {value}`. " + FLASK_COOKIE_CONFIG
    if name == "remember_token":
        return f"In Flask-Login set `REMEMBER_COOKIE_{setting} = {value}`. " + FLASK_COOKIE_CONFIG
    if name == "sessionid":
        return f"In Django set `SESSION_COOKIE_{setting} = {value}`. " + FLASK_COOKIE_CONFIG
    return None


def _samesite_problem(cookie: SetCookie) -> str | None:
    samesite = cookie.get("samesite")
    if samesite is None:
        return "no SameSite attribute"
    if samesite.strip().lower() == "none" and not cookie.has("secure"):
        return "SameSite=None without Secure"
    return None


def _evidence(cookie: SetCookie, problem: str) -> str:
    attrs = "; ".join(k if not v else f"{k}={v}" for k, v in cookie.attrs.items())
    return f"Set-Cookie: {cookie.name}=…; {attrs} ({problem})"


@passive(
    id="cookie.missing-httponly",
    title="Session cookie without HttpOnly",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=1004,
    description=(
        "A session-like cookie is set without `HttpOnly`, so any script running in the page "
        "(an injected one included) can read it and send the session to an attacker."
    ),
    remediation="Set `HttpOnly` on the cookie. " + FLASK_COOKIE_CONFIG,
    references=("https://cwe.mitre.org/data/definitions/1004.html",),
    **_COMMON,
)
def cookie_flags(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """HttpOnly, SameSite and lifetime of every session-like cookie the target sets."""
    date = exchange.response.header("date")
    for cookie in set_cookies(exchange):
        if not is_session_cookie(cookie):
            continue
        url, name = ctx.target.url, cookie.name
        if not cookie.has("httponly"):
            yield Hit(
                url=url,
                parameter=name,
                evidence=_evidence(cookie, "no HttpOnly"),
                remediation=remediation_for(cookie, "httponly"),
            )
        problem = _samesite_problem(cookie)
        if problem:
            yield Hit(
                url=url,
                parameter=name,
                evidence=_evidence(cookie, problem),
                remediation=remediation_for(cookie, "samesite"),
                check="cookie.missing-samesite",
            )
        life = lifetime_seconds(cookie, date)
        if life is not None and life > MAX_SESSION_LIFETIME_S:
            remember = "remember" in cookie.name.lower()
            yield Hit(
                url=url,
                parameter=name,
                evidence=_evidence(cookie, f"lives {life / 86400:.0f} days"),
                # a "remember me" cookie is long-lived by design: informational only
                severity=Severity.INFO if remember else None,
                check="cookie.long-lifetime",
            )
