"""Version disclosure in Server / X-Powered-By banners."""

from __future__ import annotations

from collections.abc import Iterator

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

_VERSIONED = rx.compile(r"[A-Za-z][\w.-]*/\d+(?:\.\d+)+")
BANNER_HEADERS = ("server", "x-powered-by", "x-aspnet-version", "x-aspnetmvc-version")


@passive(
    id="banner.version-disclosure",
    title="Server banner discloses software versions",
    category="misconfiguration",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=497,
    owasp="API8:2023",
    description=(
        "A response header names the server software and its exact version. Attackers use "
        "it to pick known exploits for that version without probing further."
    ),
    remediation=(
        "Do not serve Flask with the Werkzeug development server: run it behind gunicorn or "
        "uWSGI and a reverse proxy, and strip version banners there, e.g. nginx "
        "`server_tokens off;` and `proxy_hide_header X-Powered-By;`."
    ),
    references=("https://cwe.mitre.org/data/definitions/497.html",),
)
def version_banner(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Report a versioned Server/X-Powered-By value once per header value."""
    for name in BANNER_HEADERS:
        for value in exchange.response.header_all(name):
            if _VERSIONED.search(value) or name.startswith("x-aspnet"):
                yield Hit(
                    url=ctx.target.url,
                    parameter=f"{name}: {value[:80]}",
                    evidence=f"{name.title()}: {value[:200]}",
                )
