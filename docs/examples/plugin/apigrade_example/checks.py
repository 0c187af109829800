"""A passive check: it sees every response the scan receives and reports what it finds."""

from __future__ import annotations

from collections.abc import Iterator

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity


@passive(
    id="example.debug-token-header",
    title="Responses carry a debug token header",
    category="misconfiguration",
    severity=Severity.LOW,
    confidence=Confidence.FIRM,
    cwe=215,
    owasp="API8:2023",
    description=(
        "Responses carry an `X-Debug-Token` header: a profiler or debug toolbar is "
        "enabled and its stored profiles may be readable by anyone."
    ),
    remediation="Disable the profiler in production and remove the header.",
    references=("https://cwe.mitre.org/data/definitions/215.html",),
)
def debug_token_header(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    token = exchange.response.header("X-Debug-Token")
    if token:
        yield Hit(url=exchange.url, evidence=f"X-Debug-Token: {token[:40]}")
