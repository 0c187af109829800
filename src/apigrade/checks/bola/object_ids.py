"""Object ids reachable by the wrong caller (BOLA / IDOR, CWE-639).

``bola.object-id-enumerable`` takes up to ``MAX_ROUTES`` (3) object routes: spec GET
paths ending in an id template (``/users/{id}``) and crawled (or crawled but refused)
paths ending in an integer or short code (``/api/users/1``, ``/orders/A12``), and GraphQL
queries over GET whose one argument is an id (``user(id: 1)``, from the schema). It fetches
the id and its neighbours (id, id+1, id-1) without credentials; when the user gave
credentials and the anonymous probes were refused, once more with them. Two 200 JSON
records whose private identity fields differ (email, phone, owner...; a user name alone
is a public profile) prove that the caller reads other people's objects.
At most ``MAX_REQUESTS`` (20) requests, soft-404 baselines included.

The two-identity check is in ``cross_identity``; both share the routes found here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apigrade import rx
from apigrade.checks.common.apiutil import (
    PRIVATE_IDENTITY_KEYS,
    TEMPLATE,
    Counter,
    fill,
    get_anonymous,
    get_endpoints,
    has_user_credentials,
    identity_values,
    json_body,
    other_identity,
    path_of,
    record,
    segments,
)
from apigrade.checks.common.graphql import operation_probe
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

MAX_ROUTES = 3
MAX_REQUESTS = 20
_SHORT_CODE = rx.compile(r"^([A-Za-z]{0,4}[-_]?)(\d{1,9})$")
_VERSION = rx.compile(r"^v\d{1,2}$", rx.I)
_ID_PARAM = rx.compile(r"(?i)(?:^|_|[a-z])(?:id|pk|key|no|number)$|^id$")
_USERISH = frozenset({"users", "user", "accounts", "account", "profiles", "customers", "members"})


@dataclass(frozen=True)
class Route:
    """An object route: ``pattern`` has ``{param}`` where the object id goes."""

    pattern: str
    param: str
    value: str
    ep: Endpoint | None = None

    def url(self, value: str) -> str:
        if self.ep is not None and self.ep.graphql:  # a GraphQL query's id argument
            probe = operation_probe(self.ep, {self.param: value})
            return probe.url if probe is not None else self.ep.url
        return fill(self.pattern, self.ep, {self.param: value})

    @property
    def userish(self) -> bool:
        return bool(_USERISH & {s.lower() for s in segments(path_of(self.pattern))})


def neighbours(value: str) -> list[str]:
    """``7`` -> 7, 8, 6; ``A12`` -> A12, A13, A11 (same width); [] when not enumerable."""
    m = _SHORT_CODE.match(value)
    if m is None or _VERSION.match(value):
        return []
    prefix, digits = m.groups()
    n, width = int(digits), len(digits) if digits.startswith("0") else 0

    def fmt(i: int) -> str:
        return f"{prefix}{i:0{width}d}"

    return [fmt(n), fmt(n + 1), fmt(n - 1) if n > 1 else fmt(n + 2)]


def _spec_route(ep: Endpoint) -> Route | None:
    last = ep.url.rstrip("/").rsplit("/", 1)[-1]
    m = TEMPLATE.fullmatch(last)
    if m is None:
        return None
    name = m.group(1)
    param = next((p for p in ep.params if p.name == name and p.location == "path"), None)
    typed = param is not None and param.type == "integer"
    if not typed and not _ID_PARAM.search(name):
        return None
    example = (param.example if param else None) or "1"
    return Route(ep.url, name, example, ep) if neighbours(example) else None


def _crawled_route(ep: Endpoint) -> Route | None:
    if TEMPLATE.search(ep.url):
        return None
    head, _, last = ep.url.rstrip("/").rpartition("/")
    if not neighbours(last) or "://" not in head or head.endswith(":/"):
        return None
    return Route(f"{head}/{{id}}", "id", last)


def _graphql_route(ep: Endpoint) -> Route | None:
    """A GraphQL query over GET whose one argument is an object id (``user(id: 1)``)."""
    if not ep.graphql or ep.method.upper() != "GET" or len(ep.params) != 1:
        return None
    param = ep.params[0]
    if not _ID_PARAM.search(param.name):
        return None
    value = param.example or "1"
    return Route(f"{ep.url}#{param.name}", param.name, value, ep) if neighbours(value) else None


def _refused_links(ctx: CheckContext) -> list[Endpoint]:
    """Plain GETs the scan saw refused (discovery keeps only pages that answered)."""
    return [
        Endpoint(url=ex.probe.url, source="crawl")
        for ex in list(ctx.exchanges)
        if ex.probe.method == "GET" and ex.status in (401, 403) and not ex.probe.headers
        and ex.probe.raw_target is None and "?" not in ex.probe.url
    ]  # fmt: skip


def object_routes(ctx: CheckContext) -> list[Route]:
    """Distinct object routes, spec ones first (one per pattern)."""
    out: dict[str, Route] = {}
    for ep in [*get_endpoints(ctx), *_refused_links(ctx)]:
        if ep.source == "graphql":
            route = _graphql_route(ep)
        else:
            route = _spec_route(ep) if ep.source == "openapi" else _crawled_route(ep)
        if route is not None:
            out.setdefault(TEMPLATE.sub("{}", route.pattern), route)
    return list(out.values())[:MAX_ROUTES]


Found = list[tuple[str, Exchange, dict[str, Any]]]


async def _fetch(
    ctx: CheckContext, route: Route, budget: Counter, anonymous: bool
) -> tuple[Found, list[int]]:
    """The records behind ``route``'s id and its neighbours, and every status seen."""
    found: Found = []
    statuses: list[int] = []
    for value in neighbours(route.value):
        if not budget.take():
            break
        url = route.url(value)
        ex = await (get_anonymous(ctx, url) if anonymous else ctx.get(url))
        if ex is None:
            continue
        statuses.append(ex.status)
        rec = record(json_body(ex)) if ex.status == 200 else None
        if rec is not None:
            found.append((value, ex, rec))
    if found and budget.take() and await ctx.is_soft404(found[0][1]):
        return [], statuses  # the same JSON for any id: not object records
    return found, statuses


def _private(ids: dict[str, str]) -> dict[str, str]:
    # A differing user name alone is a public profile; e-mail, owner... are not.
    return {k: v for k, v in ids.items() if k.rsplit(".", 1)[-1] in PRIVATE_IDENTITY_KEYS}


def judge(found: Found) -> tuple[tuple[str, Exchange, dict[str, Any]], ...] | None:
    """Two records whose private identity fields differ, or None."""
    for i, a in enumerate(found):
        for b in found[i + 1 :]:
            if other_identity(_private(identity_values(a[2])), _private(identity_values(b[2]))):
                return a, b
    return None


def shown(rec: dict[str, Any]) -> str:
    ids = identity_values(rec)
    return ", ".join(f"{k}: {mask(v)}" for k, v in list(ids.items())[:3])


@active(
    id="bola.object-id-enumerable",
    title="Other users' objects are readable by changing the id in the URL",
    category="bola",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=639,
    owasp="API1:2023",
)
async def object_id_enumerable(ctx: CheckContext) -> None:
    budget = Counter(MAX_REQUESTS)
    creds = has_user_credentials(ctx)
    for route in object_routes(ctx):
        found, statuses = await _fetch(ctx, route, budget, anonymous=True)
        pair = judge(found)
        how, confidence = "without credentials", None
        if pair is None and creds and statuses and all(s in (401, 403) for s in statuses):
            found, _ = await _fetch(ctx, route, budget, anonymous=False)
            pair = judge(found)
            how, confidence = "with the one identity given (-H/-b)", Confidence.TENTATIVE
        if pair is None:
            continue
        (va, ea, ra), (vb, eb, rb) = pair
        ctx.report(
            Hit(
                url=route.url(route.value),
                parameter=route.param,
                confidence=confidence,
                evidence=(
                    f"{how}: GET {path_of(ea.url)} -> 200 ({shown(ra)}); "
                    f"GET {path_of(eb.url)} -> 200 ({shown(rb)}): records of different "
                    f"identities"
                ),
            )
        )
