"""The spec and the running API disagree: documented but absent, or present but undocumented.

* ``inventory.spec-endpoint-missing``: a GET the spec documents answers 404 the way a
  path that cannot exist does (the router's own 404, not "object 7 not found"). At most
  ``MAX_MISSING`` (15) GETs plus one request for a path that cannot exist.
* ``inventory.undocumented-endpoint``: an endpoint found at runtime (crawl, scripts,
  robots, sitemaps) under the spec's base path that no spec path matches, answering
  with JSON. Crawled pages are judged from the responses discovery already has; the
  others get at most ``MAX_UNDOCUMENTED`` (10) GETs.
Both need a spec (found on the target or given with ``--spec``).
"""

from __future__ import annotations

import posixpath
import secrets

from apigrade import rx
from apigrade.checks.common.apiutil import (
    TEMPLATE,
    fill,
    json_body,
    path_of,
    same_body,
    uniq,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint
from apigrade.model import Confidence, Severity

MAX_MISSING = 15
MAX_UNDOCUMENTED = 10
_DOC_PATHS = rx.compile(r"(?i)/(?:openapi|swagger|api-docs|apispec|redoc|docs)\b")


def spec_endpoints(ctx: CheckContext) -> list[Endpoint]:
    return [e for e in ctx.endpoints if e.source == "openapi"]


def path_pattern(template_path: str) -> rx.Pattern:
    """``/users/{id}`` -> a regex matching ``/users/7``."""
    parts = TEMPLATE.split(template_path)
    body = "".join(rx.escape(p) if i % 2 == 0 else "[^/]+" for i, p in enumerate(parts))
    return rx.compile(f"^{body}/?$", register=False)  # built from the target's spec


def base_path(paths: list[str]) -> str:
    """The directory all spec paths share ("/api/v2"), "/" when none."""
    heads = [p.split("{", 1)[0].rstrip("/") or "/" for p in paths]
    if not heads:
        return "/"
    common = posixpath.commonpath(heads)
    if common in {p.rstrip("/") for p in paths}:
        common = posixpath.dirname(common)  # a full path, not a directory
    return common or "/"


@active(
    id="inventory.spec-endpoint-missing",
    title="Operation documented in the spec does not exist at runtime",
    category="inventory",
    severity=Severity.INFO,
    confidence=Confidence.FIRM,
    cwe=1059,
    owasp="API9:2023",
)
async def spec_endpoint_missing(ctx: CheckContext) -> None:
    eps = [e for e in spec_endpoints(ctx) if e.method.upper() == "GET"][:MAX_MISSING]
    if not eps:
        return
    nowhere = await ctx.get(f"/apigrade-{secrets.token_hex(6)}/missing")
    if nowhere is None or nowhere.status not in (404, 410):
        return  # no plain 404 to compare with (catch-all, auth wall...)
    for ep in eps:
        ex = await ctx.get(fill(ep.url, ep))
        if ex is None or ex.status not in (404, 410) or not same_body(ex, nowhere, 0.95):
            continue
        ctx.report(
            Hit(
                url=ep.url,
                evidence=(
                    f"spec documents GET {path_of(ep.url)}; GET {path_of(ex.url)} -> "
                    f"{ex.status}, the same answer as for a path that cannot exist"
                ),
            )
        )


@active(
    id="inventory.undocumented-endpoint",
    reads=("specs",),
    title="Endpoint answers at runtime but is missing from the spec",
    category="inventory",
    severity=Severity.INFO,
    confidence=Confidence.FIRM,
    cwe=1059,
    owasp="API9:2023",
)
async def undocumented_endpoint(ctx: CheckContext) -> None:
    spec = spec_endpoints(ctx)
    if not spec:
        return
    paths = uniq(path_of(e.url) for e in spec)
    patterns = [path_pattern(p) for p in paths]
    base = base_path(paths).rstrip("/")
    spec_urls = set(ctx.kb.specs)
    fetched = 0
    for ep in ctx.endpoints:
        path = path_of(ep.url)
        if ep.source == "openapi" or ep.method.upper() != "GET" or ep.url in spec_urls:
            continue
        if not (path == base or path.startswith(base + "/")) or _DOC_PATHS.search(path):
            continue
        if any(p.match(path) for p in patterns):
            continue
        if ep.source != "crawl":  # crawled pages come from the engine's cache
            if fetched >= MAX_UNDOCUMENTED:
                continue
            fetched += 1
        ex = await ctx.get(ep.url)
        if ex is None or ex.status != 200 or json_body(ex) is None or await ctx.is_soft404(ex):
            continue
        ctx.report(
            Hit(
                url=ep.url,
                evidence=(
                    f"GET {path} -> 200 JSON ({len(ex.response.body)} bytes, found by "
                    f"{ep.source}); no path of the spec (base {base or '/'}) matches it"
                ),
            )
        )
