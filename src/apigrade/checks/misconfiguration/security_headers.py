"""Browser protections missing on HTML pages: CSP, nosniff, framing."""

from __future__ import annotations

from collections.abc import Iterator

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import finding_kind, passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

_COMMON = dict(category="misconfiguration", owasp="API8:2023", confidence=Confidence.CERTAIN)

finding_kind(
    id="headers.missing-frame-protection",
    parent="headers.missing-csp",
    title="Page can be framed by any site (clickjacking)",
    severity=Severity.LOW,
    cwe=1021,
    description="HTML is served without X-Frame-Options or a CSP frame-ancestors directive.",
    remediation=(
        "Send `X-Frame-Options: DENY` or `Content-Security-Policy: frame-ancestors 'none'`. "
        "In Flask: `@app.after_request` setting `response.headers['X-Frame-Options'] = "
        "'DENY'`, or use flask-talisman."
    ),
    **_COMMON,
)
finding_kind(
    id="headers.missing-nosniff",
    parent="headers.missing-csp",
    title="X-Content-Type-Options: nosniff is missing",
    severity=Severity.INFO,
    cwe=693,
    description="Without nosniff, browsers may guess a response's type and run it as script.",
    remediation=(
        "Send `X-Content-Type-Options: nosniff` on every response, e.g. in an "
        "`@app.after_request` hook or with flask-talisman."
    ),
    **_COMMON,
)


@passive(
    id="headers.missing-csp",
    title="Content-Security-Policy is missing",
    severity=Severity.LOW,
    cwe=693,
    description=(
        "HTML pages carry no Content-Security-Policy, so an injected script runs with the "
        "page's full privileges."
    ),
    remediation=(
        "Send a policy such as `Content-Security-Policy: default-src 'self'; "
        "frame-ancestors 'none'`; in Flask, flask-talisman sets it: "
        "`Talisman(app, content_security_policy={'default-src': \"'self'\"})`."
    ),
    **_COMMON,
)
def browser_protections(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Judge the target's own HTML pages (status 200), once per URL path."""
    resp = exchange.response
    if resp.status != 200 or resp.content_type not in ("text/html", "application/xhtml+xml"):
        return
    if exchange.probe.raw_target is not None or exchange.probe.method != "GET":
        return
    url = exchange.url.split("?", 1)[0]
    if url.rstrip("/") != ctx.target.url.split("?", 1)[0].rstrip("/"):
        return  # the landing page speaks for the site; one finding, not one per page
    csp = resp.header("content-security-policy") or ""
    if not csp:
        yield Hit(url=url, evidence="no Content-Security-Policy header")
    if not resp.header("x-frame-options") and "frame-ancestors" not in csp:
        yield Hit(
            url=url,
            evidence="no X-Frame-Options and no CSP frame-ancestors",
            check="headers.missing-frame-protection",
        )
    if (resp.header("x-content-type-options") or "").strip().lower() != "nosniff":
        yield Hit(url=url, evidence="no X-Content-Type-Options: nosniff",
                  check="headers.missing-nosniff")  # fmt: skip
