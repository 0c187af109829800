"""Django's development server (``manage.py runserver``) serving traffic.

Passive, no requests. runserver is built on the standard library's ``wsgiref.simple_server``
(django/core/servers/basehttp.py), whose handler answers with ``Server: WSGIServer/0.2
CPython/3.x``; Django's documentation: "DO NOT USE THIS SERVER IN A PRODUCTION SETTING" (no
security audits, one process, static files from the app). The same banner comes from any
app run with ``wsgiref`` directly, which is no better, and the evidence says so.
"""

from __future__ import annotations

from collections.abc import Iterator

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

_BANNER = rx.compile(r"^\s*WSGIServer/(\d[\w.]{0,20})\s+(?:C?Python)/(\d[\w.+]{0,20})\s*$")


def wsgiref_banner(value: str) -> tuple[str, str] | None:
    """(wsgiref server version, Python version) of a wsgiref ``Server`` header, or None."""
    m = _BANNER.match(value[:200])
    return (m.group(1), m.group(2)) if m else None


@passive(
    id="django.dev-server",
    title="Django development server (runserver / wsgiref) serves traffic",
    category="misconfiguration",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=497,
    owasp="API8:2023",
)
def dev_server(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Once per target; low on a loopback/private target (local development)."""
    for value in exchange.response.header_all("server"):
        found = wsgiref_banner(value)
        if found is None:
            continue
        local = ctx.target.is_local
        yield Hit(
            url=ctx.target.url,
            evidence=(
                f"Server: {value.strip()[:80]} (wsgiref's simple server, which Django's "
                f"runserver uses; Python {found[1]})"
                + ("; local or private target: likely a development machine" if local else "")
            ),
            severity=Severity.LOW if local else None,
        )
        return
