"""Permissive CORS: origins the API trusts with its callers' credentials.

Each tested URL gets GET requests with a foreign ``Origin`` (``https://evil.apigrade.invalid``)
and with ``Origin: null`` (sandboxed iframes, ``data:`` pages). The answer's
``Access-Control-Allow-Origin`` (ACAO) and ``Access-Control-Allow-Credentials`` (ACAC)
decide:

* the foreign origin echoed with ``ACAC: true``: any site reads responses with the
  victim's cookies: ``cors.reflected-origin``, high;
* ``null`` accepted with ``ACAC: true``: ``cors.null-origin``, high;
* ``*``, or an origin echoed without credentials: ``cors.permissive-origin``, info
  (browsers send no cookies then; fine for public data).

When the foreign origin is not echoed, one more request on the first URL tries
``https://<target host>.apigrade.invalid`` (a prefix match that trusts look-alike domains).
Each kind is reported once, on the first URL that shows it.

Bound: the target URL and up to 4 JSON endpoints the scan already saw; 2 requests each,
plus 1: at most 11 requests.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

MAX_URLS = 5
EVIL = "https://evil.apigrade.invalid"
NULL = "null"

finding_kind(
    id="cors.null-origin",
    parent="cors.reflected-origin",
    title="CORS trusts the 'null' origin with credentials",
    category="unsafe-consumption",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=942,
    owasp="API10:2023",
)
finding_kind(
    id="cors.permissive-origin",
    parent="cors.reflected-origin",
    title="CORS allows any origin (without credentials)",
    category="unsafe-consumption",
    severity=Severity.INFO,
    confidence=Confidence.CERTAIN,
    cwe=942,
    owasp="API10:2023",
)


def classify(ex: Exchange, origin: str) -> str | None:
    """The finding kind this answer shows for ``origin``, or None."""
    acao = (ex.response.header("access-control-allow-origin") or "").strip()
    creds = (ex.response.header("access-control-allow-credentials") or "").strip().lower()
    if not acao:
        return None
    if acao == origin and creds == "true":
        return "cors.null-origin" if origin == NULL else "cors.reflected-origin"
    if acao == "*" or acao == origin:
        return "cors.permissive-origin"
    return None


def urls(ctx: CheckContext) -> list[str]:
    """The target URL and JSON GET endpoints seen so far, one per path."""
    out = {urlsplit(ctx.target.url).path: ctx.target.url}
    for ex in list(ctx.exchanges):
        if len(out) >= MAX_URLS:
            break
        path = urlsplit(ex.url).path
        if (ex.probe.method == "GET" and ex.status == 200 and "json" in ex.response.content_type
                and ctx.target.in_scope(ex.url) and path not in out):  # fmt: skip
            out[path] = ex.url
    return list(out.values())


async def _get(ctx: CheckContext, url: str, origin: str) -> Exchange | None:
    return await ctx.send(Probe(url=url, headers=(("Origin", origin),), follow_redirects=False))


def _evidence(ex: Exchange, origin: str) -> str:
    r = ex.response
    return (f"GET {ex.url} with Origin: {origin} -> {ex.status}; "
            f"Access-Control-Allow-Origin: {r.header('access-control-allow-origin')}; "
            f"Access-Control-Allow-Credentials: {r.header('access-control-allow-credentials')}")  # fmt: skip


@active(
    id="cors.reflected-origin",
    title="CORS reflects any origin with credentials",
    category="unsafe-consumption",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=942,
    owasp="API10:2023",
)
async def cors(ctx: CheckContext) -> None:
    targets = urls(ctx)
    lookalike = f"https://{ctx.target.host}.apigrade.invalid"
    found: dict[str, Hit] = {}

    async def one(i: int, url: str) -> list[tuple[str, Hit]]:
        out = []
        for origin in (EVIL, NULL):
            ex = await _get(ctx, url, origin)
            kind = None if ex is None else classify(ex, origin)
            if ex is not None and kind is not None:
                out.append((kind, Hit(url=url, evidence=_evidence(ex, origin))))
            elif origin == EVIL and i == 0:
                ex2 = await _get(ctx, url, lookalike)
                kind = None if ex2 is None else classify(ex2, lookalike)
                if ex2 is not None and kind is not None:
                    hit = Hit(url=url, evidence=_evidence(ex2, lookalike)
                              + " (the origin check accepts look-alike domains)")  # fmt: skip
                    out.append((kind, hit))
        return out

    results = await asyncio.gather(*(one(i, u) for i, u in enumerate(targets)))
    for pairs in results:
        for kind, hit in pairs:
            found.setdefault(kind, hit)
    if "cors.reflected-origin" in found or "cors.null-origin" in found:
        found.pop("cors.permissive-origin", None)
    for kind, hit in found.items():
        hit.check = None if kind == "cors.reflected-origin" else kind
        ctx.report(hit)
