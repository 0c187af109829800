"""Exposed API descriptions: OpenAPI/Swagger documents and Swagger UI / ReDoc pages.

The spec check sends no request of its own: discovery already fetched and parsed the
document (``ctx.kb.specs``) and the engine's cache hands it back. The docs-UI
check sends at most ``len(DOCS_UI_PATHS)`` (10) GETs, plus FastAPI's ``docs`` and ``redoc``
beside a spec discovery found in a sub-folder (2 more), plus one soft-404 baseline per
directory, and judges pages by the markup the UIs ship, never by status alone.
"""

from __future__ import annotations

import asyncio

from apigrade import rx
from apigrade.checks.common.apiutil import ADMIN_SEGMENTS, path_of, segments
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.openapi import parse_spec
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

DOCS_UI_PATHS = (
    "/docs", "/redoc", "/swagger-ui", "/swagger-ui.html", "/swagger-ui/index.html",
    "/swagger", "/swagger/index.html", "/api/docs", "/apidocs", "/api-docs/",
)  # fmt: skip
_SWAGGER_UI = rx.compile(
    r"SwaggerUIBundle|swagger-ui(?:-bundle|-standalone-preset)?\.js|id=[\"']swagger-ui[\"']"
)
_REDOC = rx.compile(r"<redoc\b|redoc\.standalone\.js|Redoc\.init\s*\(")
_SPEC_REF = rx.compile(r"""(?:\burl\s*:\s*|spec-url\s*=\s*)["']([^"'\s]{1,200})["']""")
_INTERNAL = ADMIN_SEGMENTS | {"debug", "_debug", "private", "test", "dev"}


def internal_paths(paths: list[str]) -> list[str]:
    """Documented paths that look internal (admin, debug, internal...)."""
    return [p for p in paths if _INTERNAL & {s.lower() for s in segments(p)}]


@active(
    id="inventory.openapi-spec",
    reads=("specs",),
    title="OpenAPI/Swagger document is publicly readable",
    category="inventory",
    severity=Severity.INFO,
    confidence=Confidence.CERTAIN,
    cwe=200,
    owasp="API9:2023",
)
async def openapi_spec(ctx: CheckContext) -> None:
    """Report each spec discovery found on the target (0 new requests: cached)."""
    for url in list(ctx.kb.specs)[:3]:
        ex = await ctx.get(url)
        if ex is None or ex.status != 200:
            continue
        label = f"spec parsing of {path_of(ex.url)}"
        spec = await ctx.offload(parse_spec, ex.text, ctx.target.url, label=label)
        if spec is None:
            continue
        paths = sorted({path_of(e.url) for e in spec.endpoints})
        internal = internal_paths(paths)
        evidence = (
            f"GET {ex.url} -> 200: {spec.title or 'untitled'} {spec.version or ''} "
            f"(OpenAPI {spec.spec_version}), {len(spec.endpoints)} operations on "
            f"{len(paths)} paths"
        )
        if internal:
            evidence += "; internal-looking paths documented: " + ", ".join(internal[:5])
        ctx.report(
            Hit(
                url=ex.url,
                evidence=evidence,
                severity=Severity.LOW if internal else None,
                title="OpenAPI document is public and lists internal operations"
                if internal
                else None,
            )
        )


def docs_ui_kind(text: str) -> str | None:
    """The UI an HTML page ships ("Swagger UI" or "ReDoc"), None for anything else."""
    head = text[:100_000]
    if "<" not in head[:2000]:
        return None  # not markup: a script or JSON that merely names the UI
    if _SWAGGER_UI.search(head):
        return "Swagger UI"
    if _REDOC.search(head):
        return "ReDoc"
    return None


def beside_spec(specs: list[str]) -> tuple[str, ...]:
    """FastAPI's docs pages next to a spec in a sub-folder (``/api/v1/openapi.json`` ->
    ``/api/v1/docs``, ``/api/v1/redoc``): apps that prefix every route prefix these too."""
    folder = path_of(specs[0]).rsplit("/", 1)[0] if specs else ""
    if not folder:
        return ()
    return tuple(p for p in (f"{folder}/docs", f"{folder}/redoc") if p not in DOCS_UI_PATHS)


@active(
    id="inventory.api-docs-ui",
    reads=("specs",),
    title="Interactive API documentation (Swagger UI / ReDoc) is exposed",
    category="inventory",
    severity=Severity.INFO,
    confidence=Confidence.CERTAIN,
    cwe=200,
    owasp="API9:2023",
)
async def api_docs_ui(ctx: CheckContext) -> None:
    """GET each usual docs path; keep pages with Swagger UI / ReDoc markup (≤10 GETs)."""

    async def one(path: str) -> tuple[Exchange, str] | None:
        ex = await ctx.get(path)
        if ex is None or ex.status != 200 or "html" not in ex.response.content_type:
            return None
        kind = docs_ui_kind(ex.text)
        if kind is None or await ctx.is_soft404(ex):
            return None
        return ex, kind

    seen: set[str] = set()
    paths = DOCS_UI_PATHS + beside_spec(list(ctx.kb.specs))
    for found in await asyncio.gather(*(one(p) for p in paths)):
        if found is None or found[0].url in seen:
            continue  # redirects can land several paths on one page
        ex, kind = found
        seen.add(ex.url)
        ref = _SPEC_REF.search(ex.text[:100_000])
        spec = f"; loads the spec from {ref.group(1)}" if ref else ""
        ctx.report(Hit(url=ex.url, evidence=f"GET {ex.url} -> 200: {kind} page{spec}"))
