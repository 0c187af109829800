"""django-debug-toolbar injected into the site's pages (the Django counterpart of
``flask.debug-toolbar``).

Passive, no requests: any HTML response carrying the toolbar's root (``<div id="djDebug"``
with its panel list or panel URLs, debug_toolbar/templates/debug_toolbar/base.html). The
toolbar shows itself only when ``DEBUG = True`` and ``SHOW_TOOLBAR_CALLBACK`` agrees (by
default: the client's address is in ``INTERNAL_IPS``). Seen from another machine, that
check lets outsiders in (high); seen from the target's own machine it may be a
development setup showing itself to localhost only (medium), which the evidence says.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.common.local import runs_here
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_TEXT = 400_000
_ROOT = rx.compile(r"<div\s+id=\"djDebug\"[\s>]")
_PARTS = ('id="djDebugToolbar"', 'id="djDebugPanelList"', "data-render-panel-url=",
          "debug_toolbar/js/toolbar.js")  # fmt: skip
_PANEL = rx.compile(r"<li id=\"djdt-(\w{1,60})\" class=\"djDebugPanelButton\">")
_DEBUG_URL = rx.compile(r"data-(?:render-panel|sidebar)-url=\"([^\"]{1,200})\"")


def toolbar_panels(text: str) -> list[str] | None:
    """The panels of a page's django-debug-toolbar; None when the page has no toolbar."""
    text = text[:MAX_TEXT]
    if not _ROOT.search(text) or sum(part in text for part in _PARTS) < 2:
        return None
    return list(dict.fromkeys(_PANEL.findall(text)))


@passive(
    id="django.debug-toolbar",
    title="django-debug-toolbar is shown",
    category="misconfiguration",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=489,
    owasp="API8:2023",
)
def debug_toolbar(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """One finding per target: the first page that carries the toolbar."""
    resp = exchange.response
    if "html" not in resp.content_type or "djDebug" not in resp.text[:MAX_TEXT]:
        return
    panels = toolbar_panels(resp.text)
    if panels is None:
        return
    where = _DEBUG_URL.search(resp.text[:MAX_TEXT])
    local = runs_here(ctx)
    evidence = (
        f"GET {urlsplit(exchange.url).path or '/'} -> {resp.status}: django-debug-toolbar "
        f"with {len(panels)} panel(s): {', '.join(panels[:10]) or 'unknown'}"
        + (f"; panel views under {where.group(1).rsplit('/', 2)[0]}/" if where else "")
        + ("; the scan runs on the target's machine: INTERNAL_IPS may allow only localhost"
           if local else "")
    )
    yield Hit(url=ctx.target.url, evidence=evidence, severity=Severity.MEDIUM if local else None)
