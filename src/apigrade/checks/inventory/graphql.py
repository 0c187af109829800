"""GraphQL introspection left on in production.

Asks ``{__schema{types{name}}}`` with GET on at most ``MAX_ENDPOINTS`` (3) GraphQL
endpoints (discovered ones first: those discovery found by their answers, source
``graphql``, and URLs containing "graphql"; then /graphql and /api/graphql). With ``--active`` an
endpoint that did not answer the GET (anything but 404) is asked once more with a JSON
POST: at most 6 requests in all. Only a JSON answer carrying ``data.__schema.types``
counts.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from apigrade.checks.common.apiutil import json_body, path_of, uniq
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

QUERY = "{__schema{types{name}}}"
GUESSES = ("/graphql", "/api/graphql")
MAX_ENDPOINTS = 3


def schema_types(body: Any) -> list[str] | None:
    """Type names of an introspection answer, or None when it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return None
    schema = body["data"].get("__schema")
    types = schema.get("types") if isinstance(schema, dict) else None
    if not isinstance(types, list) or not types:
        return None
    names = [t.get("name") for t in types if isinstance(t, dict)]
    return [n for n in names if isinstance(n, str)]


def candidates(ctx: CheckContext) -> list[str]:
    found = [path_of(e.url) for e in ctx.endpoints
             if e.source == "graphql" or "graphql" in e.url.lower()]  # fmt: skip
    return uniq([*found, *GUESSES])[:MAX_ENDPOINTS]


async def _post(ctx: CheckContext, path: str) -> Exchange | None:
    body = json.dumps({"query": QUERY}).encode()
    return await ctx.send(
        Probe(
            url=ctx.target.url_for(path),
            method="POST",
            headers=(("Content-Type", "application/json"),),
            body=body,
        )
    )


@active(
    id="inventory.graphql-introspection",
    title="GraphQL introspection is enabled",
    category="inventory",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=200,
    owasp="API9:2023",
)
async def graphql_introspection(ctx: CheckContext) -> None:
    for path in candidates(ctx):
        ex = await ctx.get(f"{path}?query={quote(QUERY, safe='')}")
        method = "GET"
        types = schema_types(json_body(ex)) if ex is not None and ex.status == 200 else None
        if types is None and ctx.active and ex is not None and ex.status not in (404, 410):
            ex = await _post(ctx, path)
            method = "POST"
            types = schema_types(json_body(ex)) if ex is not None and ex.status == 200 else None
        if types is None or ex is None:
            continue
        own = [t for t in types if not t.startswith("__")]
        ctx.report(
            Hit(
                url=ctx.target.url_for(path),
                method=method,
                evidence=(
                    f"{method} {path} {QUERY} -> 200 with the schema: {len(types)} types, "
                    f"e.g. {', '.join(own[:8])}"
                ),
            )
        )
