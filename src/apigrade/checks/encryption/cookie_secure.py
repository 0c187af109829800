"""Cookies set over HTTPS without the Secure attribute."""

from __future__ import annotations

from collections.abc import Iterator

from apigrade.checks.common.cookies import (
    is_csrf_cookie,
    is_session_cookie,
    remediation_for,
    set_cookies,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity


@passive(
    id="cookie.missing-secure",
    title="Cookie without Secure on an HTTPS site",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=614,
    owasp="API8:2023",
)
def cookie_secure(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """On HTTPS targets only: session cookies (medium), other cookies (info)."""
    if not ctx.target.is_https or not exchange.url.startswith("https://"):
        return
    for cookie in set_cookies(exchange):
        if cookie.has("secure"):
            continue
        sensitive = is_session_cookie(cookie) or is_csrf_cookie(cookie.name)
        yield Hit(
            url=ctx.target.url,
            parameter=cookie.name,
            evidence=f"Set-Cookie: {cookie.name}=… without Secure on {exchange.url[:200]}",
            severity=None if sensitive else Severity.INFO,
            remediation=remediation_for(cookie, "secure"),
        )
