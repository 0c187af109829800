"""Set-Cookie helpers shared by the cookie, session and authentication checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from apigrade import rx
from apigrade.engine.http import Exchange, SetCookie

#: Exact names of well-known session cookies (lower case).
SESSION_NAMES = frozenset(
    {"session", "sessionid", "remember_token", "jsessionid", "phpsessid", "connect.sid"}
)
_SESSION_LIKE = rx.compile(r"sess|sid|token|auth|remember|jwt|login", rx.I)
_CSRF_LIKE = rx.compile(r"csrf|xsrf", rx.I)
_JWT_VALUE = rx.compile(r"^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*$")
FLASK_COOKIE_CONFIG = (
    "In Flask: `app.config.update(SESSION_COOKIE_SECURE=True, SESSION_COOKIE_HTTPONLY=True, "
    "SESSION_COOKIE_SAMESITE='Lax', PERMANENT_SESSION_LIFETIME=timedelta(minutes=30))`; "
    "for Flask-Login's remember cookie the same with `REMEMBER_COOKIE_SECURE`, "
    "`REMEMBER_COOKIE_HTTPONLY`, `REMEMBER_COOKIE_SAMESITE` and `REMEMBER_COOKIE_DURATION`. "
    "For a cookie set by hand: `resp.set_cookie(name, value, secure=True, httponly=True, "
    "samesite='Lax', max_age=1800)`. In Django: `SESSION_COOKIE_SECURE = True`, "
    "`SESSION_COOKIE_HTTPONLY = True`, `SESSION_COOKIE_SAMESITE = 'Lax'`."
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
