"""GraphQL plumbing shared by the GraphQL checks: request shapes, answer shapes, IDE pages.

Everything here is pure except ``survey`` (given the engine's or the context's ``send``)
and the probe wrappers ``gql_get`` and ``gql_post``. An endpoint counts as GraphQL only by a
GraphQL-shaped answer (``{"data": {"__typename": "Query"}}``), never by its status; a
GraphQL error list (``{"errors": [{"message": ...}]}``) tells a GraphQL server that refused.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from apigrade import rx
from apigrade.checks.common.apiutil import json_body, path_of
from apigrade.engine.http import Exchange, Probe

if TYPE_CHECKING:
    from apigrade.checks.context import CheckContext
    from apigrade.discovery.model import Endpoint
    from apigrade.engine.target import Target

#: where GraphQL endpoints usually live, most likely first (after discovered ones)
ENDPOINT_PATHS: tuple[str, ...] = (
    "/graphql", "/api/graphql", "/v1/graphql", "/graphql/v1", "/api/v1/graphql",
    "/query", "/gql", "/v2/graphql",
)  # fmt: skip
#: paths where only an IDE page is usually served (the IDE's endpoint is elsewhere)
IDE_PATHS: tuple[str, ...] = ("/graphiql", "/playground", "/altair", "/graphql/console")
#: a discovered URL whose path contains one of these is tried first
PATH_HINTS = ("graphql", "graphiql", "gql")
MAX_PATHS = 8  # paths asked {__typename} (discovery and the checks ask the same ones)
MAX_ENDPOINTS = 3  # GraphQL endpoints kept

TYPENAME = "{__typename}"
JSON = (("Content-Type", "application/json"), ("Accept", "application/json"))
HTML = (("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),)

_TYPE_REF = "kind name ofType{kind name ofType{kind name ofType{kind name ofType{kind name}}}}"
#: one introspection query: root types, every type's fields with arguments, input fields
INTROSPECTION = (
    "query IntrospectionQuery{__schema{queryType{name} mutationType{name} "
    "types{kind name fields(includeDeprecated:true){name args{name defaultValue "
    "type{" + _TYPE_REF + "}} type{" + _TYPE_REF + "}} "
    "inputFields{name defaultValue type{" + _TYPE_REF + "}} enumValues{name}}}}"
)

# GraphQL vocabulary of error messages (graphql-js/graphql-core, Apollo, Strawberry, Hasura)
_GQL_MESSAGE = rx.compile(
    r"(?i)graphql|syntax error|cannot query field|must provide (?:a )?(?:query|operation|document)"
    r"|unknown (?:operation|argument|type|fragment)|operation ?name|no operation|query (?:string|document)"
    r"|mutations? (?:are|is) not allowed|only perform a mutation|persisted query|introspection"
)
_SUGGESTION = rx.compile(r"(?i)did you mean\b")


@dataclass(frozen=True)
class Answer:
    """A GraphQL-shaped answer: its data (or None) and its error objects."""

    data: dict[str, Any] | None
    errors: tuple[dict[str, Any], ...]

    @property
    def messages(self) -> list[str]:
        return [str(e.get("message")) for e in self.errors]


def answer_of(body: Any) -> Answer | None:
    """The GraphQL answer in a parsed JSON body, or None when it is not shaped like one.

    ``{"data": {...}}`` (with or without errors) or ``{"errors": [{"message": ...}]}``
    whose errors carry GraphQL's own fields (``locations``, ``path``, ``extensions``) or
    a GraphQL message: a REST error envelope is not a GraphQL answer.
    """
    if not isinstance(body, dict) or not set(body) <= {"data", "errors", "extensions"}:
        return None
    data, errors = body.get("data"), body.get("errors")
    if errors is not None and not (
        isinstance(errors, list) and all(
            isinstance(e, dict) and isinstance(e.get("message"), str) for e in errors
        )
    ):  # fmt: skip
        return None
    errs = tuple(errors or ())
    if isinstance(data, dict):
        return Answer(data, errs)
    if data is not None or not errs:
        return None
    graphqlish = any(
        {"locations", "path", "extensions"} & set(e) or _GQL_MESSAGE.search(e["message"][:500])
        for e in errs
    )
    return Answer(None, errs) if graphqlish else None


def typename_of(ans: Answer | None) -> str | None:
    """The root type name a ``{__typename}`` query answered (``Query``), or None."""
    if ans is None or ans.data is None:
        return None
    name = ans.data.get("__typename")
    return name if isinstance(name, str) and name else None


def answer(ex: Exchange | None) -> Answer | None:
    """The GraphQL answer of an exchange (any status: errors come with 400s too)."""
    if ex is None or ex.status in (404, 410):
        return None
    return answer_of(json_body(ex))


def suggestion(ans: Answer | None) -> str | None:
    """The first error message with a field suggestion ("Did you mean 'users'?")."""
    for msg in ans.messages if ans else ():
        if _SUGGESTION.search(msg[:1000]):
            return msg[:200]
    return None


# -- stack traces and exception details in errors ------------------------------------
#: keys whose value is a trace (Apollo/Ariadne ``stacktrace``, Hot Chocolate ``stackTrace``,
#: graphql-ruby ``backtrace``, a JavaScript ``stack``, a Python ``traceback``)
_TRACE_KEYS = frozenset({"stacktrace", "stack", "traceback", "backtrace"})
_TRACE_TEXT = rx.compile(
    r"Traceback \(most recent call last\)|File \"[^\"\n]{1,300}\", line \d+"
    r"|\bat [\w$.<>]+\([\w$.]+:\d+\)|\bat [\w$.<>]+ \(/[^)\n]{1,300}:\d+:\d+\)"
)


def _is_trace(value: Any) -> bool:
    """Several lines of a stack trace (a list of frames, or text with frame lines)."""
    if isinstance(value, list):
        lines = [v for v in value[:50] if isinstance(v, str)]
        return len(lines) >= 2 and any(_TRACE_TEXT.search(v[:1000]) for v in lines)
    return isinstance(value, str) and bool(_TRACE_TEXT.search(value[:5000]))


def _trace_in(value: Any, depth: int = 0) -> str | None:
    """A stack trace anywhere in an error's ``extensions`` (bounded walk)."""
    if depth > 4:
        return None
    if isinstance(value, dict):
        for key, inner in list(value.items())[:50]:
            if str(key).lower() in _TRACE_KEYS and _is_trace(inner):
                return _first_line(inner)
            found = _trace_in(inner, depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for inner in value[:50]:
            found = _trace_in(inner, depth + 1)
            if found:
                return found
    elif _is_trace(value):
        return _first_line(value)
    return None


def _first_line(value: Any) -> str:
    lines = [str(v) for v in value[:6]] if isinstance(value, list) else str(value).splitlines()[:6]
    return " | ".join(s.strip() for s in lines if s.strip())[:240]


def stack_trace(ans: Answer | None) -> str | None:
    """A short excerpt of a stack trace in the answer's errors (their ``extensions`` or
    message)."""
    for err in ans.errors if ans else ():
        found = _trace_in(err.get("extensions")) or _trace_in(err.get("message"))
        if found:
            return found
    return None


# -- IDE pages ------------------------------------------------------------------------
_IDES: tuple[tuple[str, rx.Pattern], ...] = (
    ("GraphiQL", rx.compile(
        r"createGraphiQLFetcher|GraphiQL\.createFetcher|createElement\(\s*GraphiQL\b"
        r"|graphiql(?:@[\w.^~-]+)?/(?:dist/)?graphiql(?:\.min)?\.(?:js|css)|graphiql\.min\.js"
    )),
    ("GraphQL Playground", rx.compile(
        r"GraphQLPlayground\.init|graphql-playground-react|graphql-playground(?:\.min)?\.(?:js|css)"
    )),
    ("Altair", rx.compile(r"AltairGraphQL\.init|altair-static|altair-graphql|altairgraphql")),
    ("Apollo Sandbox", rx.compile(
        r"EmbeddedSandbox|EmbeddedExplorer|embeddable-(?:sandbox|explorer)"
    )),
    ("Pathfinder", rx.compile(r"@pathfinder-ide/")),
    ("GraphQL Voyager", rx.compile(r"GraphQLVoyager\.(?:init|renderVoyager)|graphql-voyager")),
)  # fmt: skip


def ide_kind(ex: Exchange | None) -> str | None:
    """The GraphQL IDE an HTML page runs (GraphiQL, Playground, Altair...), or None."""
    if ex is None or ex.status != 200 or "html" not in ex.response.content_type:
        return None
    text = ex.text[:300_000]
    for name, pattern in _IDES:
        if pattern.search(text):
            return name
    return None


# -- request shapes -------------------------------------------------------------------
def get_target(path: str, query: str) -> str:
    """``/graphql?query=...`` with the document percent-encoded."""
    return f"{path}?query={quote(query, safe='')}"


def post_body(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


#: headers that CSRF-preventing servers require on GET operations (Apollo Server's
#: ``csrfPrevention``, GraphQL Yoga's plugin): sent on the checks' GETs only where a plain
#: GET was refused for it, and on every GET of a discovered operation (harmless elsewhere)
PREFLIGHT = (("Apollo-Require-Preflight", "true"), ("X-GraphQL-Yoga-CSRF", "true"))
_CSRF_REFUSAL = rx.compile(r"(?i)csrf|cross-site request forgery|preflight")


def get_probe(target: Target, path: str, query: str, preflight: bool = False) -> Probe:
    """A GraphQL document over GET (a read: allowed in default mode). Discovery and the
    checks build the same probe, so the engine's cache answers the second one."""
    headers = (JSON[1], *PREFLIGHT) if preflight else (JSON[1],)
    return Probe(url=target.url_for(get_target(path, query)), headers=headers)


def post_probe(target: Target, path: str, payload: Any) -> Probe:
    """A JSON POST (``{"query": ...}`` or a batch list); the engine refuses it without
    ``--active``."""
    return Probe(url=target.url_for(path), method="POST", headers=JSON,
                 body=post_body(payload), follow_redirects=False)  # fmt: skip


async def gql_get(
    ctx: CheckContext, path: str, query: str, preflight: bool = False
) -> Exchange | None:
    return await ctx.send(get_probe(ctx.target, path, query, preflight))


async def gql_post(ctx: CheckContext, path: str, payload: Any) -> Exchange | None:
    return await ctx.send(post_probe(ctx.target, path, payload))


# -- finding endpoints (shared by discovery and the checks) -------------------------
Send = Callable[[Probe], Awaitable["Exchange | None"]]


@dataclass(frozen=True)
class Located:
    """A path that answered ``{__typename}``, and how."""

    path: str
    get: bool  # GET ?query= runs queries (else only the JSON POST did, with --active)
    preflight: bool = False  # GET needs the PREFLIGHT headers (CSRF prevention)


@dataclass
class Survey:
    """What the ``{__typename}`` probes found."""

    endpoints: list[Located]
    answers: dict[str, Exchange]  # the plain GET answer, by path
    refusing: list[str]  # GraphQL-shaped or 405 answers that ran no query over GET


async def survey(send: Send, target: Target, urls: Iterable[str], active: bool) -> Survey:
    """``{__typename}`` over GET on ``candidate_paths(urls)`` (MAX_PATHS requests); once
    more with PREFLIGHT headers where a GraphQL answer refused it as a CSRF risk (at most
    MAX_PATHS); with ``active``, once as a JSON POST on paths that did not answer GET (not
    404/410; at most MAX_PATHS)."""
    paths = candidate_paths(urls)
    exs = await asyncio.gather(*(send(get_probe(target, p, TYPENAME)) for p in paths))
    found: dict[str, Located] = {}
    answers: dict[str, Exchange] = {}
    retry: list[str] = []
    refusing: list[str] = []
    for path, ex in zip(paths, exs, strict=True):
        if ex is None:
            continue
        answers[path] = ex
        ans = answer(ex)
        if typename_of(ans) is not None:  # at the final path (Django: /graphql -> /graphql/)
            final = path_of(ex.url)
            found.setdefault(final, Located(final, get=True))
            continue
        if ex.status in (404, 410):
            continue
        retry.append(path)
        if ans is not None or ex.status == 405:
            refusing.append(path)
        csrf = ans is not None and any(_CSRF_REFUSAL.search(m[:500]) for m in ans.messages)
        if csrf:
            again = await send(get_probe(target, path, TYPENAME, preflight=True))
            if again is not None and typename_of(answer(again)) is not None:
                final = path_of(again.url)
                found.setdefault(final, Located(final, get=True, preflight=True))
    if active:
        retry = [p for p in retry if p not in found]
        posts = await asyncio.gather(
            *(send(post_probe(target, p, {"query": TYPENAME})) for p in retry)
        )
        for path, ex in zip(retry, posts, strict=True):
            if typename_of(answer(ex)) is not None:
                found[path] = Located(path, get=False)
    ordered = list(found.values())  # the candidates' order; POST-only ones last
    return Survey(ordered[:MAX_ENDPOINTS], answers, refusing)


def aliases(n: int) -> str:
    """One query with ``n`` aliases of ``__typename`` (``{a0:__typename a1:__typename ...}``)."""
    return "{" + " ".join(f"a{i}:__typename" for i in range(n)) + "}"


_ASSET = rx.compile(r"(?i)\.(?:js|mjs|map|css|png|jpe?g|gif|svg|ico|woff2?|ttf|html?|md|txt)$")


def candidate_paths(urls: Iterable[str], limit: int = MAX_PATHS) -> list[str]:
    """Paths to try: discovered ones that look like GraphQL, then the usual ones."""
    found = [p for u in urls
             if any(h in (p := path_of(u)).lower() for h in PATH_HINTS) and not _ASSET.search(p)]  # fmt: skip
    return list(dict.fromkeys([*found, *ENDPOINT_PATHS]))[:limit]


def typed_value(param_type: str | None, value: str) -> Any:
    """A variable's JSON value: numbers and booleans as such when ``value`` is one."""
    if param_type == "integer" and value.lstrip("-").isdigit():
        return int(value)
    if param_type == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if param_type == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def operation_probe(ep: Endpoint, values: dict[str, str]) -> Probe | None:
    """The request running a discovered GraphQL operation (``ep.graphql``) with its
    variables set from ``values`` (by param name: the argument's): GET with ``query``
    and ``variables`` in the query string, or a JSON POST."""
    if ep.graphql is None:
        return None
    variables = {
        p.name: typed_value(p.type, values[p.name])
        for p in ep.params_in("graphql") if p.name in values
    }  # fmt: skip
    if ep.method.upper() == "GET":
        qs = f"query={quote(ep.graphql, safe='')}"
        if variables:
            qs += "&variables=" + quote(json.dumps(variables, separators=(",", ":")), safe="")
        # PREFLIGHT: a CSRF-preventing server (Apollo, Yoga) runs GET queries only with it
        return Probe(url=f"{ep.url}?{qs}", headers=(JSON[1], *PREFLIGHT), follow_redirects=False)
    return Probe(url=ep.url, method=ep.method.upper(), headers=JSON,
                 body=post_body({"query": ep.graphql, "variables": variables}),
                 follow_redirects=False)  # fmt: skip
