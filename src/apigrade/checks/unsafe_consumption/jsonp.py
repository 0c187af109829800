"""JSONP: a JSON endpoint that wraps its answer in a caller-named JavaScript function.

For JSON endpoints the scan already fetched, one request adds ``callback=apigrade<token>``
(then ``jsonp=`` when that did nothing). An answer that starts with ``apigrade<token>(``
and is served as script (not as JSON) can be loaded with ``<script src>`` by any site,
which then reads the data with the visitor's cookies: a cross-origin read that bypasses
the same-origin policy and CORS.

CWE-942 (permissive cross-domain policy with untrusted domains): the contract's table
lists it for permissive CORS, and JSONP is the same trust given to every origin by
another channel. Severity low: it matters when the endpoint serves per-user data by
cookie.

Bound: at most 5 endpoints, at most 2 requests each (10).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from apigrade import rx
from apigrade.checks.common.fanout import fan_out
from apigrade.checks.common.slots import token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

MAX_URLS = 5
NAMES = ("callback", "jsonp")
_PREFIX = rx.compile(
    r"^\s*(?:/\*\*/\s*)?(?:typeof\s+[\w$.]+\s*={2,3}\s*['\"]function['\"]\s*&&\s*)?"
)


def json_urls(ctx: CheckContext) -> list[str]:
    """GET URLs that answered 200 with JSON, one per path."""
    out: dict[str, str] = {}
    for ex in list(ctx.exchanges):
        path = urlsplit(ex.url).path
        if (ex.probe.method == "GET" and ex.status == 200 and "json" in ex.response.content_type
                and ctx.target.in_scope(ex.url) and path not in out
                and not urlsplit(ex.url).query.count("callback=")):  # fmt: skip
            out[path] = ex.url
    return list(out.values())[:MAX_URLS]


def wrapped(ex: Exchange, fn: str) -> bool:
    """The body calls ``fn(`` and is not served as JSON."""
    body = ex.text[:2000]
    m = _PREFIX.match(body)
    start = m.end() if m else 0
    return body.startswith(fn + "(", start) and "json" not in ex.response.content_type


async def test_url(ctx: CheckContext, url: str) -> Hit | None:
    fn = "apigrade" + token(8)
    for name in NAMES:
        sep = "&" if urlsplit(url).query else "?"
        ex = await ctx.send(Probe(url=f"{url}{sep}{name}={quote(fn)}", follow_redirects=False))
        if ex is None:
            return None
        if ex.status < 400 and wrapped(ex, fn):
            ctype = ex.response.header("content-type") or "no Content-Type"
            return Hit(url=url, parameter=name,
                       evidence=f"GET {ex.url} -> {ex.status} ({ctype}): {ex.text[:120]!r}")  # fmt: skip
    return None


@active(
    id="jsonp.callback",
    title="JSON endpoint supports JSONP callbacks",
    category="unsafe-consumption",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=942,
    owasp="API10:2023",
)
async def jsonp(ctx: CheckContext) -> None:
    await fan_out(ctx, json_urls(ctx), test_url)
