"""Cleartext transport and HSTS."""

from __future__ import annotations

from collections.abc import Iterator

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import finding_kind, passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

finding_kind(
    id="tls.missing-hsts",
    parent="tls.cleartext-http",
    title="HTTPS site without Strict-Transport-Security",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=319,
    owasp="API8:2023",
)


@passive(
    id="tls.cleartext-http",
    title="API served over cleartext HTTP",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=319,
    owasp="API8:2023",
)
def transport(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Once, on the target URL: cleartext (info on local targets) or missing HSTS."""
    target = ctx.target
    if exchange.probe.url != target.url or exchange.redirects:
        return
    if not target.is_https:
        local = target.is_local
        yield Hit(
            url=target.url,
            evidence="scheme is http" + (" (local or private address: not deducted)" if local else ""),
            severity=Severity.INFO if local else None,
        )
    elif not exchange.response.header("strict-transport-security"):
        yield Hit(url=target.url, evidence="no Strict-Transport-Security header",
                  check="tls.missing-hsts")  # fmt: skip
