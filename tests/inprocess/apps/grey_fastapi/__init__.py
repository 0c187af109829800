"""A FastAPI shop with routers and a mounted legacy app: ``create_app("flawed" | "fixed")``.

The landing page links nothing. Unlinked and outside the main OpenAPI document:

- ``/legacy/debug/env``, a route of a Starlette app mounted at ``/legacy``: the flawed one
  shows a live AWS key;
- ``/admin/users/{user_id:int}`` (in the app's own document, ``include_in_schema=False``
  in the flawed one): the password hash.

The flawed app: ``debug=True``, the docs on, CORS for any origin with credentials, a
session middleware with a wordlist key and no ``https_only``, no TrustedHostMiddleware.
The fixed one turns all of that off, checks a staff token and trusts its own hosts only.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, FastAPI, Header, HTTPException
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

STAFF_TOKEN = secrets.token_urlsafe(24)
AWS_KEY = "AKIA" + "Q3EGRJ7QZ2XKTVM5"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3x8Kx" + "Ab1"


def _staff(fixed: bool, token: str | None) -> None:
    if fixed and token != STAFF_TOKEN:
        raise HTTPException(status_code=401, detail="unauthorized")


def _routers(fixed: bool) -> tuple[APIRouter, APIRouter]:
    items = APIRouter(prefix="/api/v1/items")

    @items.get("")
    def list_items() -> dict[str, Any]:
        return {"items": [{"id": 5, "name": "widget"}]}

    @items.get("/{item_id}")
    def get_item(item_id: int) -> dict[str, Any]:
        return {"id": item_id, "name": "widget"}

    admin = APIRouter(prefix="/admin", include_in_schema=fixed)

    @admin.get("/users/{user_id}")
    def get_user(user_id: int, x_staff_token: str | None = Header(default=None)) -> dict[str, Any]:
        _staff(fixed, x_staff_token)
        record: dict[str, Any] = {"id": user_id, "name": "Ada"}
        if not fixed:
            record["password_hash"] = (
                "$2b$12$" + "Kq3nY7vU9xP2mL5sT8wR1eJ4hG6fD0cB3aZ9yX7vW5uT3sR1qP0o"
            )
        return record

    return items, admin


def _legacy(fixed: bool) -> Starlette:
    async def env(request: Request) -> JSONResponse:
        if fixed:
            _staff(fixed, request.headers.get("x-staff-token"))
            return JSONResponse({"region": "eu-west-1"})
        return JSONResponse({"AWS_ACCESS_KEY_ID": AWS_KEY, "AWS_SECRET_ACCESS_KEY": AWS_SECRET})

    return Starlette(routes=[Route("/debug/env", env)])


def create_app(variant: str = "flawed") -> FastAPI:
    fixed = variant == "fixed"
    if not fixed:
        app = FastAPI(debug=True)
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
        app.add_middleware(SessionMiddleware, secret_key="secret")
    else:
        app = FastAPI(debug=False, docs_url=None, redoc_url=None, openapi_url=None)
        app.add_middleware(
            TrustedHostMiddleware, allowed_hosts=["testserver", "127.0.0.1", "localhost"]
        )
        app.add_middleware(
            CORSMiddleware, allow_origins=["https://shop.example.com"], allow_credentials=True
        )
        app.add_middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32), https_only=True)
    items, admin = _routers(fixed)
    app.include_router(items)
    app.include_router(admin)
    app.mount("/legacy", _legacy(fixed))
    if fixed:

        @app.middleware("http")
        async def harden(request: Request, call_next: Any) -> Any:
            response = await call_next(request)
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; frame-ancestors 'none'"
            )
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
            return response

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return "<!doctype html><html><head><title>Shop</title></head><body>Shop</body></html>"

    return app


app = create_app("flawed")
