"""Quality of Strict-Transport-Security on an HTTPS target (passive, no requests).

A missing header is ``tls.missing-hsts`` (transport.py); this check reads a header that
is there: ``max-age=0`` switches HSTS off (medium), a max-age under 180 days protects too
briefly between visits (low), no ``includeSubDomains`` leaves sibling hosts, and cookies
scoped to the parent domain, open to downgrade (info). One finding, on the target URL.
"""

from __future__ import annotations

from collections.abc import Iterator

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MIN_AGE = 15_552_000  # 180 days, the usual floor (Mozilla Observatory, hstspreload: 1 year)
_MAX_AGE = rx.compile(r"(?:^|;)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:;|$)", rx.I)
_SUBDOMAINS = rx.compile(r"(?:^|;)\s*includesubdomains\s*(?:;|$)", rx.I)


def hsts_problems(value: str) -> list[tuple[Severity, str]]:
    """What is wrong with one Strict-Transport-Security value."""
    m = _MAX_AGE.search(value)
    out: list[tuple[Severity, str]] = []
    if m is None:
        out.append((Severity.LOW, "no valid max-age directive: browsers ignore the header"))
    elif int(m.group(1)) == 0:
        out.append((Severity.MEDIUM, "max-age=0 switches HSTS off"))
    elif int(m.group(1)) < MIN_AGE:
        age = int(m.group(1))
        span = f"{age / 86400:.0f} days" if age >= 86400 else f"{age / 3600:.1f} hours"
        out.append((Severity.LOW, f"max-age={age} ({span}) is under 180 days"))
    if not _SUBDOMAINS.search(value):
        out.append((Severity.INFO, "no includeSubDomains"))
    return out


@passive(
    id="tls.weak-hsts",
    title="Strict-Transport-Security is too weak",
    category="encryption",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=319,
    owasp="API8:2023",
)
def weak_hsts(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    target = ctx.target
    if not target.is_https or exchange.probe.url != target.url or exchange.redirects:
        return
    value = exchange.response.header("strict-transport-security")
    if not value:
        return  # tls.missing-hsts
    problems = hsts_problems(value)
    if not problems:
        return
    worst = max((s for s, _ in problems), key=lambda s: s.rank)
    yield Hit(url=target.url, severity=worst,
              evidence=f"Strict-Transport-Security: {value}: " + "; ".join(p for _, p in problems))  # fmt: skip
