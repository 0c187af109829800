"""Mixed content: an HTTPS page that loads scripts, styles, frames or images over http://.

Passive, on every HTML answer of an HTTPS target. Active mixed content (``<script src>``,
stylesheets, ``<iframe>``, ``<object>``/``<embed>``, and forms posting to ``http://``)
hands the page to anyone on the network: medium. Passive content (images, audio, video)
only leaks and lets them swap pictures: low. A Content-Security-Policy with
``upgrade-insecure-requests`` (header or ``<meta>``) makes browsers fetch over HTTPS
instead, so such pages are not reported. One finding per page.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_HTML = 500_000
MAX_SHOWN = 4
_ACTIVE = {("script", "src"), ("iframe", "src"), ("frame", "src"), ("object", "data"),
           ("embed", "src"), ("form", "action")}  # fmt: skip
_PASSIVE = {("img", "src"), ("audio", "src"), ("video", "src"), ("source", "src"),
            ("video", "poster"), ("track", "src")}  # fmt: skip


class _Refs(HTMLParser):
    """http:// references by kind, and whether a <meta> CSP upgrades them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.active: list[str] = []
        self.passive: list[str] = []
        self.upgrades = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "meta" and a.get("http-equiv", "").lower() == "content-security-policy":
            self.upgrades |= "upgrade-insecure-requests" in a.get("content", "").lower()
        if tag == "link" and "stylesheet" in a.get("rel", "").lower().split():
            self._add(self.active, "link", a.get("href", ""))
        for attr, value in a.items():
            if (tag, attr) in _ACTIVE:
                self._add(self.active, tag, value)
            elif (tag, attr) in _PASSIVE:
                self._add(self.passive, tag, value)

    @staticmethod
    def _add(bucket: list[str], tag: str, value: str) -> None:
        if value.strip().lower().startswith("http://") and len(bucket) < 50:
            bucket.append(f"<{tag}> {value.strip()[:120]}")


def mixed_refs(html: str) -> _Refs:
    refs = _Refs()
    try:
        refs.feed(html[:MAX_HTML])
        refs.close()
    except Exception:  # noqa: BLE001 - odd markup gives fewer references, never an error
        return refs
    return refs


@passive(
    id="tls.mixed-content",
    title="HTTPS page loads resources over plain HTTP",
    category="encryption",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=319,
    owasp="API8:2023",
)
def mixed_content(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    resp = exchange.response
    if (not ctx.target.is_https or not exchange.url.startswith("https://")
            or resp.status >= 400 or "html" not in resp.content_type):  # fmt: skip
        return
    csp = " ".join(resp.header_all("content-security-policy")).lower()
    if "upgrade-insecure-requests" in csp:
        return
    refs = mixed_refs(resp.text)
    if refs.upgrades or not (refs.active or refs.passive):
        return
    parts = urlsplit(exchange.url)
    shown = (refs.active + refs.passive)[:MAX_SHOWN]
    yield Hit(
        url=urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", "")),
        method=exchange.probe.method,
        severity=None if refs.active else Severity.LOW,
        evidence=(
            f"{len(refs.active)} active, {len(refs.passive)} passive http:// "
            f"reference(s): " + "; ".join(shown)
        ),  # fmt: skip
    )
