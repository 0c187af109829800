"""GraphQL endpoints: where they are, what they accept, and how they are configured.

Finding endpoints (default mode, GETs only):

- ``common.graphql.survey``, shared with discovery (``engine/graphql_discovery.py``), whose
  identical probes the engine's cache answers: ``{__typename}`` over GET on discovered
  paths that look like GraphQL, then the usual ones (``common.graphql.ENDPOINT_PATHS``):
  at most ``MAX_PATHS`` (8) requests, plus one retry with CSRF-prevention headers on each
  path whose GraphQL answer asked for them (Apollo, Yoga): at most 8. An endpoint is GraphQL
  only when it answers in GraphQL's shape (``data.__typename``), never by status. With
  ``--active`` a path that did not answer over GET (and is not 404/410) is asked once with
  a JSON POST: at most 8 more.
- An HTML GET of every GraphQL endpoint found, of paths that refused GET in GraphQL's
  shape (or with 405), and of the IDE paths (``/graphiql``, ``/playground``, ``/altair``,
  ``/graphql/console``): at most ``MAX_PAGES`` (9). An IDE is recognised by its page's
  scripts (GraphiQL, Playground, Altair, Apollo Sandbox...), never by the path.

Then, on at most ``MAX_ENDPOINTS`` (3) endpoints, over GET (or POST with ``--active``
when GET is refused):

- introspection (one request): the schema becomes typed operations
  (``common.graphql_schema``); reported under ``inventory.graphql-introspection`` for a
  path that check does not try itself;
- field suggestions (one request): a misspelt field ("Did you mean ...");
- stack traces (at most 3 requests): a syntax error and, with the schema, up to two
  query fields called with an unexpected string; every answer seen is examined;
- mutations over GET (one request, default mode too): a GET of ``mutation{__typename}``,
  which selects no mutation field and so runs no resolver; only a server that executes
  it is reported (Strawberry, Apollo and graphene-django refuse it);
- with ``--active`` (one request each): a batch of 10 ``{__typename}`` queries, a query
  with 100 aliases of ``__typename``, and a 15-level query along a cycle of the schema
  with one unknown field, so the server validates it and never executes it: a depth
  limit shows as a depth error beside the unknown-field error.

Bound: 25 requests to find endpoints (33 with ``--active``) and at most 6 per endpoint
(10 with ``--active``): at most 43 requests (63 with ``--active``); 4 to 17 in practice,
since discovery already sent the ``{__typename}`` and introspection probes (cached).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from apigrade import rx
from apigrade.checks.common.apiutil import json_body
from apigrade.checks.common.graphql import (
    HTML,
    IDE_PATHS,
    INTROSPECTION,
    TYPENAME,
    Answer,
    aliases,
    answer,
    answer_of,
    gql_get,
    gql_post,
    ide_kind,
    stack_trace,
    suggestion,
    survey,
    typename_of,
)
from apigrade.checks.common.graphql_schema import Schema, deep_query, operations, parse_schema
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.inventory.graphql import candidates as introspection_paths
from apigrade.checks.registry import active, finding_kind
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_PAGES = 9  # HTML GETs looking for an IDE page
MAX_ERROR_PROBES = 2  # query fields called with an unexpected value (plus one syntax error)
BATCH = 10
ALIASES = 100
DEPTH = 15
#: misspelt common root field names: GraphQL suggests the real ones when suggestions are on
TYPOS = "{usr acount prodct ordr itm pst viewr serch nodez mee}"
PROBE_FIELD = "apigradeProbe"  # unknown field: the deep query is validated, never run
ODD_VALUE = "apigrade'\"-1"
_LIMITED = rx.compile(r"(?i)depth|complexity|too (?:deep|complex|nested)|nest|cost")


@dataclass
class GqlEndpoint:
    """A path that answered like GraphQL, and the request shapes it accepts."""

    path: str
    get: bool  # GET ?query= runs queries
    post: bool = False  # JSON POST runs queries (only tried with --active)
    preflight: bool = False  # GET needs CSRF-prevention headers (common.graphql.PREFLIGHT)
    answers: list[tuple[str, Answer]] = field(default_factory=list)  # (request, answer)
    schema: Schema | None = None

    @property
    def method(self) -> str:
        return "GET" if self.get else "POST"


async def _send(ctx: CheckContext, ep: GqlEndpoint, query: str) -> Exchange | None:
    if ep.get:
        return await gql_get(ctx, ep.path, query, ep.preflight)
    return await gql_post(ctx, ep.path, {"query": query}) if ctx.active and ep.post else None


async def _ask(
    ctx: CheckContext, ep: GqlEndpoint, query: str
) -> tuple[Exchange | None, Answer | None]:
    ex = await _send(ctx, ep, query)
    ans = answer(ex)
    if ans is not None:
        ep.answers.append((query, ans))
    return ex, ans


# -- finding endpoints ----------------------------------------------------------------
async def find_endpoints(ctx: CheckContext) -> tuple[list[GqlEndpoint], dict[str, str]]:
    """GraphQL endpoints (at most MAX_ENDPOINTS) and IDE pages seen ({path: IDE name})."""
    found = await survey(ctx.send, ctx.target, (e.url for e in ctx.endpoints), ctx.active)
    ides: dict[str, str] = {}
    for path, ex in found.answers.items():
        kind = ide_kind(ex)
        if kind and not await ctx.is_soft404(ex):
            ides[path] = kind  # a view that serves its IDE whatever the query string says
    eps = [GqlEndpoint(loc.path, get=loc.get, post=not loc.get, preflight=loc.preflight)
           for loc in found.endpoints]  # fmt: skip
    pages = [p for p in dict.fromkeys([*(e.path for e in eps), *found.refusing, *IDE_PATHS])
             if p not in ides][:MAX_PAGES]  # fmt: skip
    htmls = await asyncio.gather(*(ctx.get(p, headers=HTML) for p in pages))
    for page, html in zip(pages, htmls, strict=True):
        kind = ide_kind(html)
        if kind and html is not None and not await ctx.is_soft404(html):
            ides[page] = kind
    return eps, ides


# -- per endpoint ---------------------------------------------------------------------
async def _introspect(ctx: CheckContext, ep: GqlEndpoint, covered: set[str]) -> None:
    ex, ans = await _ask(ctx, ep, INTROSPECTION)
    if ex is None or ans is None or not isinstance((ans.data or {}).get("__schema"), dict):
        return
    ep.schema = await ctx.offload(parse_schema, ex.text, label="GraphQL schema parsing")
    if ep.schema is None or (ep.path in covered and not (ep.preflight and not ctx.active)):
        return  # that check asks it too (its plain GET fails where preflight is needed)
    ops = operations(ep.schema)
    ctx.report(Hit(
        check="inventory.graphql-introspection", url=ctx.target.url_for(ep.path), method=ep.method,
        evidence=(f"{ep.method} {ep.path} IntrospectionQuery -> the schema: "
                  f"{len(ep.schema.own_types)} types, {len(ops)} operations, e.g. "
                  f"{', '.join(o.field.name for o in ops[:6])}"),
    ))  # fmt: skip


async def _suggestions(ctx: CheckContext, ep: GqlEndpoint) -> None:
    fields = ep.schema.root_fields("query") if ep.schema else ()
    query = "{" + fields[0].name + "x}" if fields else TYPOS
    _ex, ans = await _ask(ctx, ep, query)
    msg = suggestion(ans)
    if msg:
        ctx.report(Hit(
            check="graphql.field-suggestions", url=ctx.target.url_for(ep.path), method=ep.method,
            evidence=f"{ep.method} {ep.path} {query[:80]} -> {msg}",
        ))  # fmt: skip


async def _error_details(ctx: CheckContext, ep: GqlEndpoint) -> None:
    queries = ["{"]  # a syntax error
    if ep.schema is not None:
        ops = [o for o in operations(ep.schema) if o.kind == "query" and o.string_args()]
        queries += [
            o.document({o.string_args()[0].name: ODD_VALUE}) for o in ops[:MAX_ERROR_PROBES]
        ]
    for query in queries:
        await _ask(ctx, ep, query)
    for query, ans in ep.answers:
        trace = stack_trace(ans)
        if trace:
            ctx.report(Hit(
                check="graphql.error-details", url=ctx.target.url_for(ep.path), method=ep.method,
                evidence=f"{ep.method} {ep.path} {query[:80]} -> errors carry a stack trace: {trace}",
            ))  # fmt: skip
            return


async def _get_mutation(ctx: CheckContext, ep: GqlEndpoint) -> None:
    """A browser sends a cross-site GET without custom headers: only such a GET counts."""
    if not ep.get or ep.preflight:
        return  # GET runs nothing without CSRF-prevention headers
    url = ctx.target.url_for(ep.path)
    mutations = ep.schema.root_fields("mutation") if ep.schema else ()
    # a GET that selects no mutation field runs no resolver: safe in default mode
    query = "mutation{__typename}"
    name = typename_of(answer(await gql_get(ctx, ep.path, query)))
    if name:
        ctx.report(Hit(
            check="graphql.get-mutation", url=url, method="GET",
            evidence=(f"GET {ep.path}?query={query} -> data.__typename = {name!r}: the "
                      "server runs mutation operations sent with GET"
                      + (f" (mutations: {', '.join(f.name for f in mutations[:5])})"
                         if mutations else "")),
        ))  # fmt: skip


async def _batching(ctx: CheckContext, ep: GqlEndpoint) -> None:
    ex = await gql_post(ctx, ep.path, [{"query": TYPENAME}] * BATCH)
    body = json_body(ex) if ex is not None and ex.status == 200 else None
    if not isinstance(body, list) or len(body) != BATCH:
        return
    if all(typename_of(answer_of(b)) for b in body):
        ctx.report(Hit(
            check="graphql.batching", url=ctx.target.url_for(ep.path), method="POST",
            evidence=(f"POST {ep.path} with a JSON array of {BATCH} {TYPENAME} queries -> "
                      f"{BATCH} results in one response"),
        ))  # fmt: skip


async def _alias_overloading(ctx: CheckContext, ep: GqlEndpoint) -> None:
    ex = await gql_post(ctx, ep.path, {"query": aliases(ALIASES)})
    ans = answer(ex)
    if ans is not None and ans.data is not None and len(ans.data) >= ALIASES and not ans.errors:
        ctx.report(Hit(
            check="graphql.alias-overloading", url=ctx.target.url_for(ep.path), method="POST",
            evidence=(f"POST {ep.path} {{a0:__typename ... a{ALIASES - 1}:__typename}} -> "
                      f"{len(ans.data)} aliased results, no limit error"),
        ))  # fmt: skip


async def _depth(ctx: CheckContext, ep: GqlEndpoint) -> None:
    deep = deep_query(ep.schema, DEPTH) if ep.schema is not None else None
    if deep is None:
        return
    query = "{" + PROBE_FIELD + " " + deep[1:]
    ex = await gql_post(ctx, ep.path, {"query": query})
    ans = answer(ex)
    if ans is None or not ans.errors or ans.data:
        return
    own = [m[:500].replace(PROBE_FIELD, "").split("Did you mean")[0] for m in ans.messages]
    if any(_LIMITED.search(m) for m in own):
        return  # a depth or complexity limit answered
    if not all(PROBE_FIELD in m for m in ans.messages):
        return  # another error: inconclusive
    ctx.report(Hit(
        check="graphql.no-depth-limit", url=ctx.target.url_for(ep.path), method="POST",
        evidence=(f"POST {ep.path} a {DEPTH}-level query ({deep[:70]}...) plus an unknown "
                  f"field -> only the unknown field was refused ({ans.messages[0][:120]}): "
                  "no depth or complexity limit in validation; the query was not executed"),
    ))  # fmt: skip


async def audit(ctx: CheckContext, ep: GqlEndpoint, covered: set[str]) -> None:
    await _introspect(ctx, ep, covered)
    await asyncio.gather(_suggestions(ctx, ep), _get_mutation(ctx, ep))
    await _error_details(ctx, ep)
    if ctx.active:
        await asyncio.gather(_batching(ctx, ep), _alias_overloading(ctx, ep), _depth(ctx, ep))


@active(
    id="graphql.ide-exposed",
    title="GraphQL IDE (GraphiQL, Playground, Altair) is exposed",
    category="misconfiguration",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=200,
    owasp="API8:2023",
)
async def graphql_audit(ctx: CheckContext) -> None:
    """Find endpoints and IDE pages, then audit each endpoint (see the module docstring)."""
    eps, ides = await find_endpoints(ctx)
    for path, kind in ides.items():
        ctx.report(Hit(
            url=ctx.target.url_for(path),
            evidence=f"GET {path} (Accept: text/html) -> 200: a {kind} page, an in-browser "
                     "IDE that sends any query to the API",
        ))  # fmt: skip
    covered = set(introspection_paths(ctx))
    await asyncio.gather(*(audit(ctx, ep, covered) for ep in eps))


finding_kind(
    parent="graphql.ide-exposed",
    id="graphql.field-suggestions",
    title="GraphQL field suggestions reveal the schema",
    category="misconfiguration",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=200,
    owasp="API8:2023",
)
finding_kind(
    parent="graphql.ide-exposed",
    id="graphql.error-details",
    title="GraphQL errors carry stack traces",
    category="data-exposure",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=209,
    owasp="API8:2023",
)
finding_kind(
    parent="graphql.ide-exposed",
    id="graphql.get-mutation",
    title="GraphQL runs mutations sent with GET (CSRF)",
    category="misconfiguration",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=352,
    owasp="API8:2023",
)
finding_kind(
    parent="graphql.ide-exposed",
    id="graphql.batching",
    title="GraphQL accepts batches of queries in one request",
    category="rate-limiting",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=770,
    owasp="API4:2023",
)
finding_kind(
    parent="graphql.ide-exposed",
    id="graphql.alias-overloading",
    title="GraphQL accepts 100 aliases in one query",
    category="rate-limiting",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=770,
    owasp="API4:2023",
)
finding_kind(
    parent="graphql.ide-exposed",
    id="graphql.no-depth-limit",
    title="GraphQL has no query depth limit",
    category="rate-limiting",
    severity=Severity.LOW,
    confidence=Confidence.TENTATIVE,
    cwe=770,
    owasp="API4:2023",
)
