"""Interactive API docs at ``/docs``: Swagger UI, behind the same key as the API.

The Swagger UI files (Swagger UI 5: it reads the OpenAPI 3.1 document FastAPI writes)
come from the installed ``swagger-ui-py`` package and are served by the service itself, so the page loads nothing from elsewhere (its CSP allows scripts
and connections to this origin only). The page and its OpenAPI document need a dashboard
session (log in with the API key) or the ``X-API-Key`` header; a browser without either
is sent to the login page. "Try it out" sends the key that "Authorize" was given.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from apigrade.service.api import API_KEY, require_key
from apigrade.service.dashboard import _env, _session

#: Swagger UI needs scripts and XHR to this origin (its styles are set through the DOM).
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
#: the only files served under /docs/assets: name -> media type
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "docs.js": "text/javascript; charset=utf-8",
}
METHODS = ("get", "post", "put", "patch", "delete")

router = APIRouter(include_in_schema=False)


@cache
def asset(name: str) -> bytes:
    """One of :data:`ASSETS`: ours from the templates, Swagger UI's from its package."""
    if name == "docs.js":
        return files("apigrade.service").joinpath("templates/docs.js").read_bytes()
    return files("swagger_ui").joinpath("static", name).read_bytes()


async def _refusal(request: Request) -> Response | None:
    """None when the request may read the docs: a dashboard session or the right key."""
    if _session(request) is not None:
        return None
    provided = await API_KEY(request)
    if provided is None:
        return RedirectResponse("/login", status_code=303)
    await require_key(request, provided)  # 403 / 429 like the API
    return None


def operations(doc: dict[str, Any]) -> list[dict[str, str]]:
    """Method, path and summary of every operation (the page's no-script list)."""
    out = []
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                out.append({"method": method.upper(), "path": path,
                            "summary": str(op.get("summary") or "")})
    return out


@router.get("/docs")
async def docs_page(request: Request) -> Response:
    refused = await _refusal(request)
    if refused is not None:
        return refused
    html = _env().get_template("docs.html").render(ops=operations(request.app.openapi()))
    return HTMLResponse(html, headers={"Content-Security-Policy": DOCS_CSP})


@router.get("/docs/openapi.json")
async def docs_openapi(request: Request) -> Response:
    refused = await _refusal(request)
    if refused is not None:
        return refused
    return JSONResponse(request.app.openapi())


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> Response:
    if name not in ASSETS:
        return JSONResponse({"error": "not found"}, status_code=404)
    return Response(asset(name), media_type=ASSETS[name])
