"""Method tampering and routing headers that change an authorisation decision.

For at most ``MAX_CANDIDATES`` (5) URLs that refuse an anonymous GET (401/403) — seen
earlier in the scan, secured in the spec, or admin-looking — the check asks, without
credentials:

1. ``HEAD`` of the URL: a 2xx means the handler ran without the check that guards GET;
2. ``OPTIONS`` with ``X-HTTP-Method-Override: GET`` (and its two common spellings):
   data in the answer, unlike a plain OPTIONS, means the auth layer judged the request
   as OPTIONS (often exempt for CORS preflights) while the app served it as a GET; the
   same data for a plain OPTIONS means the handler serves OPTIONS unguarded (medium;
   endpoint metadata such as Django REST framework's is not data);
3. ``GET /`` with ``X-Original-URL`` / ``X-Rewrite-URL`` naming the URL: data that
   differs from the plain ``GET /`` means a front layer checked "/" while the app routed
   to the protected path.

At most 5 requests per URL (the anonymous GET, HEAD, two OPTIONS, the rewritten GET)
plus one plain ``GET /``: 26 in all. Runs in phase 2 to reuse the refusals phase 1
saw. CWE: the precise CWE-650 (trusting HTTP methods) and CWE-285 are not in the
contract's table; CWE-306 is the closest listed one (the function ends up reachable
without authentication).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from apigrade.checks.bfla.admin_functions import candidates as admin_candidates
from apigrade.checks.common.apiutil import (
    fill,
    get_anonymous,
    get_endpoints,
    has_data,
    has_user_credentials,
    json_body,
    path_of,
    same_body,
    uniq,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_CANDIDATES = 5
_REFUSED = (401, 403)
_METADATA_KEYS = frozenset({"name", "description", "renders", "parses", "actions", "methods"})
OVERRIDE = (
    ("X-HTTP-Method-Override", "GET"),
    ("X-HTTP-Method", "GET"),
    ("X-Method-Override", "GET"),
)


def _data(ex: Exchange | None) -> bool:
    return ex is not None and ex.status == 200 and has_data(json_body(ex))


def is_metadata(body: Any) -> bool:
    """An OPTIONS answer describing the endpoint (Django REST framework), not its data."""
    return isinstance(body, dict) and set(body) <= _METADATA_KEYS


def _refused_before(ctx: CheckContext) -> list[str]:
    """URLs (without query) an earlier credential-less GET of this scan saw refused."""
    anon_is_plain = not has_user_credentials(ctx)
    return [
        ctx.target.origin + path_of(ex.probe.url)
        for ex in list(ctx.exchanges)
        if ex.probe.method == "GET"
        and ex.status in _REFUSED
        and not ex.probe.headers
        and ex.probe.raw_target is None
        and (ex.probe.anonymous or anon_is_plain)
    ]


async def _candidates(ctx: CheckContext) -> list[tuple[str, Exchange]]:
    secured = [fill(e.url, e) for e in get_endpoints(ctx) if e.secured]
    urls = uniq([*_refused_before(ctx), *secured, *await admin_candidates(ctx)])
    out: list[tuple[str, Exchange]] = []
    for url in urls:
        if len(out) >= MAX_CANDIDATES:
            break
        ex = await get_anonymous(ctx, url, follow_redirects=False)
        if ex is not None and ex.status in _REFUSED:
            out.append((url, ex))
    return out


async def _anon(
    ctx: CheckContext, url: str, method: str = "GET", headers: tuple[tuple[str, str], ...] = ()
) -> Exchange | None:
    return await ctx.get(
        url, method=method, headers=headers, follow_redirects=False,
        anonymous=has_user_credentials(ctx),
    )  # fmt: skip


@active(
    phase=2,
    id="bfla.method-tampering",
    reads=("specs",),
    title="Authorisation bypassed by changing the HTTP method or a routing header",
    category="bfla",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=306,
    owasp="API5:2023",
)
async def method_tampering(ctx: CheckContext) -> None:
    root = ctx.target.origin + "/"
    for url, refused in await _candidates(ctx):
        path = path_of(url) + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
        before = f"GET {path} without credentials -> {refused.status}"
        head = await _anon(ctx, url, "HEAD")
        if head is not None and 200 <= head.status < 300:
            size = head.response.header("content-length")
            shown = f" (Content-Length {size})" if size else ""
            ctx.report(Hit(
                url=url, method="HEAD", confidence=Confidence.FIRM, severity=Severity.MEDIUM,
                title="HEAD request skips the authorisation check that guards GET",
                evidence=f"{before}; HEAD {path} -> {head.status}{shown}",
            ))  # fmt: skip
            continue
        over = await _anon(ctx, url, "OPTIONS", OVERRIDE)
        plain = await _anon(ctx, url, "OPTIONS")
        if _data(over) and over is not None and (plain is None or not same_body(plain, over)):
            ctx.report(Hit(
                url=url, method="OPTIONS", parameter="X-HTTP-Method-Override",
                evidence=(f"{before}; OPTIONS {path} with X-HTTP-Method-Override: GET -> "
                          f"200, {len(over.response.body)} bytes JSON"),
            ))  # fmt: skip
            continue
        if _data(plain) and plain is not None and not is_metadata(json_body(plain)):
            ctx.report(Hit(
                url=url, method="OPTIONS", confidence=Confidence.FIRM, severity=Severity.MEDIUM,
                title="OPTIONS request gets the data that GET is refused",
                evidence=f"{before}; OPTIONS {path} -> 200, {len(plain.response.body)} bytes JSON",
            ))  # fmt: skip
            continue
        rewrite = (("X-Original-URL", path), ("X-Rewrite-URL", path))
        moved = await _anon(ctx, root, "GET", rewrite)
        if moved is None or moved.status != 200 or not has_data(json_body(moved)):
            continue
        home = await _anon(ctx, root)
        if home is not None and same_body(home, moved):
            continue  # the header changed nothing
        ctx.report(Hit(
            url=url, parameter="X-Original-URL",
            evidence=(f"{before}; GET / with X-Original-URL: {path} -> 200, "
                      f"{len(moved.response.body)} bytes JSON (GET / alone: "
                      f"{home.status if home else '?'})"),
        ))  # fmt: skip
