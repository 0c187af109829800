"""Django admin login page reachable (``django.contrib.admin``), judged by its markup.

Requests (default mode, GET only): ``/admin/login/`` plus ``<prefix>login/`` for at most two
other admin-looking prefixes that a DEBUG 404 page listed (``backoffice-admin/``): at most
``MAX_PROBES`` (3). The page counts only with the admin's own login form: ``id="login-form"``
with a ``csrfmiddlewaretoken`` field and the admin's stylesheet or site name. Honest
severity: a login page is not a vulnerability; at the default path it is the first place
credential-stuffing tools try (low), elsewhere it is informational.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

DEFAULT_LOGIN = "/admin/login/"
MAX_PROBES = 3
_FORM = rx.compile(r"<form\b[^>]{0,300}\bid=[\"']login-form[\"']")
_CSRF = rx.compile(r"name=[\"']csrfmiddlewaretoken[\"']")
_ADMIN_MARK = rx.compile(
    r"/admin/css/(?:base|login)\.css|Django (?:site admin|administration)|grappelli|jazzmin"
)
_TITLE = rx.compile(r"<title>([^<]{1,120})</title>", rx.I)


def is_admin_login(text: str) -> bool:
    """True for the Django admin's login page (default or lightly themed)."""
    head = text[:200_000]
    return bool(_FORM.search(head) and _CSRF.search(head) and _ADMIN_MARK.search(head))


def admin_prefixes(paths: list[str]) -> list[str]:
    """``/x-admin/``-like route prefixes from the URLconf (not the default one)."""
    out = []
    for path in paths:
        if "{" in path or not path.endswith("/") or path.count("/") != 2:
            continue
        if "admin" in path.lower() and path != "/admin/":
            out.append(path)
    return out[: MAX_PROBES - 1]


@active(
    id="django.admin-login",
    title="Django admin login page is reachable",
    category="inventory",
    severity=Severity.INFO,
    confidence=Confidence.CERTAIN,
    cwe=200,
    owasp="API9:2023",
)
async def admin_login(ctx: CheckContext) -> None:
    """GET /admin/login/ and up to two admin-looking URLconf prefixes' login pages."""
    listed = [
        urlsplit(ep.url).path for ep in ctx.endpoints if ep.source == "django-urlconf"
    ]
    paths = [DEFAULT_LOGIN] + [p + "login/" for p in admin_prefixes(listed)]

    async def one(path: str) -> Exchange | None:
        ex = await ctx.get(path)
        if ex is None or ex.status != 200 or "html" not in ex.response.content_type:
            return None
        return ex if is_admin_login(ex.text) else None

    seen: set[str] = set()
    for path, ex in zip(paths, await asyncio.gather(*(one(p) for p in paths)), strict=True):
        if ex is None or ex.url in seen:
            continue
        seen.add(ex.url)
        title = _TITLE.search(ex.text[:20_000])
        default = urlsplit(ex.url).path == DEFAULT_LOGIN
        evidence = (
            f"GET {path} -> 200: Django admin login form"
            + (f" ({title.group(1).strip()})" if title else "")
            + ("; at the default path" if default else "; at a custom path the URLconf listed")
        )
        ctx.report(Hit(url=ex.url, evidence=evidence, severity=Severity.LOW if default else None))
