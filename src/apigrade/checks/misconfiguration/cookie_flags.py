"""Cookie attributes: HttpOnly, SameSite and lifetime of session-like cookies.

One finding per cookie name (URL = the target, parameter = the cookie name), whatever
page set it. ``Secure`` lives in ``encryption/cookie_secure.py`` (it matters on HTTPS only).
"""

from __future__ import annotations

from collections.abc import Iterator

from apigrade.checks.common.cookies import (
    is_session_cookie,
    lifetime_seconds,
    remediation_for,
    set_cookies,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import finding_kind, passive
from apigrade.engine.http import Exchange, SetCookie
from apigrade.model import Confidence, Severity

#: A session cookie living longer than this is reported.
MAX_SESSION_LIFETIME_S = 30 * 24 * 3600

_COMMON = dict(category="misconfiguration", owasp="API8:2023")

finding_kind(
    id="cookie.missing-samesite",
    parent="cookie.missing-httponly",
    title="Session cookie without a SameSite attribute",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=1275,
    **_COMMON,
)
finding_kind(
    id="cookie.long-lifetime",
    parent="cookie.missing-httponly",
    title="Session cookie lives longer than 30 days",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=613,
    **_COMMON,
)


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
