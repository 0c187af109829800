"""Views of both Django variants; ``FIXED`` views check the staff token."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

STAFF_TOKEN = secrets.token_urlsafe(24)
AWS_KEY = "AKIA" + "Q3EGRJ7QZ2XKTVM5"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3x8Kx" + "Ab1"
PASSWORD_HASH = (
    "pbkdf2_sha256$870000$" + "Xq1Yc3Zv5Bn7Mm9Ll2Kk$4Jj6Hh8Gg0Ff2Dd4Ss6Aa8Pp0Oo2Ii4Uu6Yy8Tt0Rr2E="
)


class ContentSecurityPolicy:
    """The fixed project's CSP (Django 5 has no setting for it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
        return response


def _staff(request: HttpRequest, fixed: bool) -> JsonResponse | None:
    if fixed and request.headers.get("X-Staff-Token") != STAFF_TOKEN:
        return JsonResponse({"error": "unauthorized"}, status=401)
    return None


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse(
        '<!doctype html><html><head><title>Shop</title></head><body><a href="/api/items/">items</a></body></html>'
    )


def items(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"items": [{"id": 8, "name": "widget"}]})


def item(request: HttpRequest, pk: int) -> JsonResponse:
    return JsonResponse({"id": pk, "name": "widget"})


def user(request: HttpRequest, pk: int, fixed: bool = False) -> JsonResponse:
    denied = _staff(request, fixed)
    if denied:
        return denied
    record: dict[str, Any] = {"id": pk, "username": "ada", "email": "ada@example.com"}
    if not fixed:
        record["password"] = PASSWORD_HASH
    return JsonResponse(record)


def export(request: HttpRequest, export_id: Any, fixed: bool = False) -> JsonResponse:
    denied = _staff(request, fixed)
    if denied:
        return denied
    if fixed:
        return JsonResponse({"id": str(export_id), "status": "ready"})
    return JsonResponse({"id": str(export_id), "aws_access_key_id": AWS_KEY,
                         "aws_secret_access_key": AWS_SECRET})  # fmt: skip


def category(request: HttpRequest, slug: str) -> JsonResponse:
    return JsonResponse({"slug": slug, "items": []})
