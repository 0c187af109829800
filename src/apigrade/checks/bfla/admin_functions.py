"""Privileged functions reachable without the privilege (BFLA).

Candidates: discovered GET endpoints whose path has an admin/manage/internal segment,
spec operations tagged "admin" or with an admin operationId (read from the spec discovery
fetched: a cache hit), and
the guesses /admin and /api/admin. At most ``MAX_CANDIDATES`` (6), each asked without
credentials and, with ``--identity``, as each user-labelled identity (its role, else a
name without admin, root, staff, super or owner in it; ``checks/common/roles.py``), plus one GET
as the admin-labelled identity per identity hit: at most 24 requests plus soft-404
baselines. A user's answer with the administrator's fields is certain.
Redirects are not followed (a redirect to a login page is a refusal). Only GET is ever
sent, with or without ``--active``.

A hit is a 200 with JSON data, or a non-login HTML page that mentions "admin" and is
not the site's not-found answer. The user's own -H/-b credentials alone never make a
hit: the scanner cannot tell whether they belong to an administrator.

CWE: the precise weakness is CWE-285 (improper authorisation), which the contract's table
does not list. The closest listed entry is CWE-306 ("endpoint that should need
authentication does not"): a privileged function that answers a caller without the
privilege lacks the check that should guard it. CWE-639 is about user-controlled object
keys and stays with the BOLA checks.
"""

from __future__ import annotations

import json
from typing import Any

from apigrade import rx
from apigrade.checks.common.apiutil import (
    ADMIN_SEGMENTS,
    TEMPLATE,
    fill,
    get_anonymous,
    get_as,
    get_endpoints,
    has_data,
    is_login_page,
    json_body,
    path_of,
    segments,
    uniq,
)
from apigrade.checks.common.roles import admin_sees_same, user_identities
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_CANDIDATES = 6
GUESSES = ("/admin", "/api/admin")
_ADMIN_WORD = rx.compile(r"(?i)\badmin")
_ADMIN_TAG = rx.compile(r"(?i)admin|internal|staff|superuser|management")


def is_admin_path(path: str) -> bool:
    return bool(ADMIN_SEGMENTS & {s.lower() for s in segments(path)})


def tagged_admin_paths(spec_text: str) -> set[tuple[str, str]]:
    """(method, spec path) of operations tagged admin/internal, or whose operationId
    names an admin function (``listAdminUsers``), in a JSON spec."""
    try:
        doc = json.loads(spec_text)
    except (ValueError, RecursionError):
        return set()
    paths = doc.get("paths") if isinstance(doc, dict) else None
    out: set[tuple[str, str]] = set()
    for path, item in paths.items() if isinstance(paths, dict) else []:
        for method, op in item.items() if isinstance(item, dict) else []:
            tags = op.get("tags") if isinstance(op, dict) else None
            op_id = op.get("operationId") if isinstance(op, dict) else None
            if (
                isinstance(tags, list)
                and any(isinstance(t, str) and _ADMIN_TAG.search(t) for t in tags)
            ) or (isinstance(op_id, str) and _ADMIN_TAG.search(op_id)):
                out.add((method.upper(), path))
    return out


async def candidates(ctx: CheckContext) -> list[str]:
    """Admin-looking GET URLs: by path, by spec tag, then the guesses."""
    tagged: set[tuple[str, str]] = set()
    for url in list(ctx.kb.specs)[:1]:
        ex = await ctx.get(url)  # discovery fetched it: a cache hit
        if ex is not None and ex.status == 200:
            tagged = tagged_admin_paths(ex.text)
    urls: list[str] = []
    for ep in get_endpoints(ctx):
        path = path_of(ep.url)
        by_tag = any(m == "GET" and path.endswith(p) for m, p in tagged)
        if is_admin_path(path) or by_tag:
            urls.append(fill(ep.url, ep))
    urls += [ctx.target.url_for(g) for g in GUESSES]
    return [u for u in uniq(urls) if not TEMPLATE.search(u)][:MAX_CANDIDATES]


def ordinary_identities(ctx: CheckContext) -> list[str]:
    """User-labelled identities (role, else name: ``checks/common/roles.py``), at most two."""
    return user_identities(ctx)[:2]


async def reachable(ctx: CheckContext, ex: Exchange | None) -> str | None:
    """A short description of the data when ``ex`` shows the function, else None."""
    if ex is None or ex.status != 200:
        return None
    body: Any = json_body(ex)
    if body is not None:  # the same JSON for any path (a catch-all) is no function
        if not has_data(body) or await ctx.is_soft404(ex):
            return None
        return f"{len(ex.response.body)} bytes JSON"
    if "html" not in ex.response.content_type or is_login_page(ex.text):
        return None
    if not _ADMIN_WORD.search(ex.text[:50000]) or await ctx.is_soft404(ex):
        return None
    return f"{len(ex.response.body)} bytes HTML admin page"


@active(
    id="bfla.admin-function",
    reads=("specs",),
    title="Administrative function reachable without the administrator role",
    category="bfla",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=306,
    owasp="API5:2023",
)
async def admin_function(ctx: CheckContext) -> None:
    for url in await candidates(ctx):
        anon = await get_anonymous(ctx, url, follow_redirects=False)
        what = await reachable(ctx, anon)
        if what is not None:
            ctx.report(
                Hit(
                    url=url,
                    evidence=f"GET {path_of(url)} without credentials -> 200, {what}",
                )
            )
            continue
        for name in ordinary_identities(ctx):
            ex = await get_as(ctx, url, name, follow_redirects=False)
            what = await reachable(ctx, ex)
            if what is None:
                continue
            refused = f" (without credentials: {anon.status})" if anon is not None else ""
            admin = await admin_sees_same(ctx, url, ex)
            same = f"; admin identity {admin!r} gets the same fields" if admin else ""
            ctx.report(
                Hit(
                    url=url,
                    evidence=f"GET {path_of(url)} as ordinary identity {name!r} -> 200, {what}{refused}{same}",
                    confidence=Confidence.CERTAIN if admin else None,
                )
            )
            break
