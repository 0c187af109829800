"""One identity reading another's objects (``--identity`` twice), CWE-639.

Two identities are compared: user-labelled ones first (``checks/common/roles.py``), and an
admin-labelled identity is never the reader (an administrator may read anything).

1. By self id. Each identity's own id comes from its "self" endpoint (discovered ``me``,
   ``whoami``, ``profile``, ``account``... paths, then /api/me and /me; at most
   ``MAX_SELF_PROBES`` (3) each). On each object route of ``object_ids`` B's object is
   fetched as B (it must carry B's identity) and as A: A getting B's record is certain.
2. By listing. For each object route ``/orders/{id}`` whose parent ``/orders`` is a
   collection, the collection is listed as A and as B; an id only A's listing has is
   fetched as B and without credentials. B getting the record with that id while the
   anonymous request does not is firm (objects every caller may read are not reported,
   and neither are ids B's own listing shows).

3. By creation, only with ``--active``, when the listing showed nothing to compare: the
   collection's spec or form POST operation is called once as A with its example values
   (one object created per route, at most ``MAX_ROUTES`` (3)); the new object's id (the
   answer's id, else its ``Location``) is fetched as B and without credentials. B getting
   it is certain. Nothing is updated or deleted.

Both directions are tried; one finding per route. At most ``MAX_REQUESTS`` (20)
requests for all strategies together (4 per route and direction for the listing, 3 per
route for the creation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apigrade import rx
from apigrade.checks.bola.object_ids import (
    MAX_REQUESTS,
    Route,
    object_routes,
    shown,
)
from apigrade.checks.common.apiutil import (
    TEMPLATE,
    Counter,
    get_anonymous,
    get_as,
    get_endpoints,
    identity_values,
    json_body,
    path_of,
    record,
    record_id,
    segments,
    uniq,
)
from apigrade.checks.common.roles import admin_identities, user_identities
from apigrade.checks.common.slots import build_body, default_value
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

MAX_SELF_PROBES = 3
_ID_LIKE = rx.compile(r"^[A-Za-z0-9_-]{1,64}$")
SELF_SEGMENTS = frozenset({"me", "whoami", "profile", "account", "self", "current", "user"})
SELF_GUESSES = ("/api/me", "/me")
_OWNER_KEYS = ("user_id", "userId", "owner_id", "ownerId", "account_id", "accountId", "customer_id")


@dataclass(frozen=True)
class Me:
    """What an identity's self endpoint says about it."""

    name: str
    path: str
    id: str
    identity: dict[str, str]


def self_paths(ctx: CheckContext) -> list[str]:
    found = [
        path_of(e.url)
        for e in get_endpoints(ctx)
        if not TEMPLATE.search(e.url) and (segments(path_of(e.url)) or [""])[-1] in SELF_SEGMENTS
    ]
    return uniq([*found, *SELF_GUESSES])[:MAX_SELF_PROBES]


async def _whoami(ctx: CheckContext, name: str, budget: Counter) -> Me | None:
    for path in self_paths(ctx):
        if not budget.take():
            return None
        rec = record(json_body(await get_as(ctx, path, name)))
        rid = record_id(rec) if rec else None
        if rec is not None and rid is not None:
            return Me(name, path, rid, identity_values(rec))
    return None


def belongs_to(rec: dict[str, Any], me: Me, route: Route, other: Me) -> bool:
    """True when ``rec`` carries ``me``'s identity (email, owner id, or its own id).

    Only fields where ``me`` and ``other`` differ count (two users of one company share
    the company field).
    """
    ids = identity_values(rec)
    own = {k: v.lower() for k, v in me.identity.items() if other.identity.get(k) != v}
    if any(ids.get(k, "").lower() == v for k, v in own.items()):
        return True
    if any(str(rec.get(k)) == me.id for k in _OWNER_KEYS):
        return True
    return route.userish and record_id(rec) == me.id


@active(
    id="bola.cross-identity",
    title="One user can read another user's objects",
    category="bola",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=639,
    owasp="API1:2023",
)
async def cross_identity(ctx: CheckContext) -> None:
    names = [*user_identities(ctx), *admin_identities(ctx)][:2]
    if len(names) < 2 or not user_identities(ctx):
        return
    budget = Counter(MAX_REQUESTS)
    reported: set[str] = set()
    await _by_self_id(ctx, names, budget, reported)
    for route in object_routes(ctx):
        if route.pattern in reported:
            continue
        pairs = ((names[0], names[1]), (names[1], names[0]))
        found = False
        for owner, reader in pairs:
            found = found or await _by_listing(ctx, route, owner, reader, budget)
        if found:
            continue
        if ctx.active:
            for owner, reader in pairs:
                if reader not in admin_identities(ctx):
                    await _by_creation(ctx, route, owner, reader, budget)
                    break


async def _by_self_id(
    ctx: CheckContext, names: list[str], budget: Counter, reported: set[str]
) -> None:
    mes = [await _whoami(ctx, n, budget) for n in names]
    a_me, b_me = mes
    if a_me is None or b_me is None or a_me.id == b_me.id:
        return
    admins = set(admin_identities(ctx))
    for route in object_routes(ctx):
        for reader, owner in ((a_me, b_me), (b_me, a_me)):
            if reader.name in admins:
                continue
            if not budget.take(2):
                return
            url = route.url(owner.id)
            own = record(json_body(await get_as(ctx, url, owner.name)))
            if own is None or not belongs_to(own, owner, route, reader):
                break  # not an object route for these ids
            got = record(json_body(await get_as(ctx, url, reader.name)))
            if got is None or not belongs_to(got, owner, route, reader):
                continue
            ctx.report(
                Hit(
                    url=url,
                    parameter=route.param,
                    evidence=(
                        f"{owner.name}'s id is {owner.id} ({owner.path}); as "
                        f"{reader.name!r}, GET {path_of(url)} -> 200 with {owner.name}'s "
                        f"record ({shown(got) or 'id ' + owner.id})"
                    ),
                )
            )
            reported.add(route.pattern)
            break


def collection_of(route: Route) -> str | None:
    """``/api/orders/{id}`` -> ``/api/orders`` (None for GraphQL and nested templates)."""
    if route.ep is not None and route.ep.graphql:
        return None
    head = route.pattern.rstrip("/").rsplit("/", 1)[0]
    if "://" not in head or head.endswith(":/") or TEMPLATE.search(head):
        return None
    return head


def listed_ids(body: Any) -> list[str]:
    """The ids of a collection answer: a list of records, or one list inside a wrapper."""
    items: Any = body
    if isinstance(body, dict):
        lists = [v for v in body.values() if isinstance(v, list)]
        items = lists[0] if len(lists) == 1 else []
    if not isinstance(items, list):
        return []
    ids = [record_id(i) for i in items[:50] if isinstance(i, dict)]
    return uniq(i for i in ids if i is not None)


def create_operation(ctx: CheckContext, coll: str) -> Endpoint | None:
    """The POST operation (spec or form) on the collection URL, with body fields."""
    for ep in ctx.endpoints:
        if ep.method.upper() == "POST" and ep.url.rstrip("/") == coll.rstrip("/"):
            if ep.params_in("body") or ep.params_in("form"):
                return ep
    return None


def created_id(ex: Exchange) -> str | None:
    """The id of the object a create answer describes: its id, else its ``Location``."""
    rec = record(json_body(ex))
    rid = record_id(rec) if rec else None
    if rid is None:
        loc = ex.response.header("Location") or ""
        last = path_of(loc).rstrip("/").rsplit("/", 1)[-1] if loc else ""
        rid = last if last and _ID_LIKE.match(last) else None
    return rid


async def _by_creation(
    ctx: CheckContext, route: Route, owner: str, reader: str, budget: Counter
) -> bool:
    """``owner`` creates one object; report when ``reader`` can read it."""
    coll = collection_of(route)
    ep = create_operation(ctx, coll) if coll else None
    if ep is None or not budget.take(3):
        return False
    where = "form" if ep.params_in("form") and not ep.params_in("body") else "body"
    first = ep.params_in(where)[0]
    body, ctype = build_body(ep, where, first.name, default_value(first))
    made = await ctx.send(
        Probe(url=ep.url, method="POST", body=body, anonymous=True, follow_redirects=False,
              headers=(("Content-Type", ctype), *ctx.identities.get(owner, ())))
    )  # fmt: skip
    oid = created_id(made) if made is not None and made.status in (200, 201) else None
    if oid is None:
        return False
    url = route.url(oid)
    read = await _read_by_other(ctx, url, reader, oid)
    if read is None:
        return False
    _rec, refused = read
    ctx.report(
        Hit(
            url=url,
            parameter=route.param,
            evidence=(
                f"as {owner!r}, POST {path_of(ep.url)} created id {oid}; as {reader!r}, "
                f"GET {path_of(url)} -> 200 with that record; {refused}"
            ),
        )
    )
    return True


async def _read_by_other(
    ctx: CheckContext, url: str, reader: str, oid: str
) -> tuple[dict[str, Any], str] | None:
    """``reader`` gets object ``oid`` at ``url`` and an anonymous caller does not: the record
    and how the anonymous request was refused; None otherwise (public objects included)."""
    got = await get_as(ctx, url, reader)
    rec = record(json_body(got)) if got is not None and got.status == 200 else None
    if rec is None or record_id(rec) != oid:
        return None
    anon = await get_anonymous(ctx, url)
    anon_rec = record(json_body(anon)) if anon is not None and anon.status == 200 else None
    if anon_rec is not None and record_id(anon_rec) == oid:
        return None  # everyone reads it: public, not another user's object
    return rec, f"without credentials: {anon.status}" if anon is not None else "no anonymous answer"


async def _by_listing(
    ctx: CheckContext, route: Route, owner: str, reader: str, budget: Counter
) -> bool:
    """Report when ``reader`` reads an object only ``owner``'s listing shows."""
    coll = collection_of(route)
    if coll is None or reader in admin_identities(ctx) or not budget.take(2):
        return False
    mine = listed_ids(json_body(await get_as(ctx, coll, owner)))
    theirs = set(listed_ids(json_body(await get_as(ctx, coll, reader))))
    only_owner = [i for i in mine if i not in theirs]
    if not only_owner or not budget.take(2):
        return False
    oid = only_owner[0]
    url = route.url(oid)
    read = await _read_by_other(ctx, url, reader, oid)
    if read is None:
        return False
    rec, refused = read
    ctx.report(
        Hit(
            url=url,
            parameter=route.param,
            confidence=Confidence.FIRM,
            evidence=(
                f"as {owner!r}, GET {path_of(coll)} lists id {oid}; as {reader!r} (whose "
                f"listing has {len(theirs)} other ids), GET {path_of(url)} -> 200 with that "
                f"record ({shown(rec) or 'id ' + oid}); {refused}"
            ),
        )
    )
    return True
