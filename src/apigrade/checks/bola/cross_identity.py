"""One identity reading another's objects (``--identity`` twice), CWE-639.

Each identity's own id comes from its "self" endpoint (discovered ``me``, ``whoami``,
``profile``, ``account``... paths, then /api/me and /me; at most ``MAX_SELF_PROBES`` (3)
each). On each object route of ``object_ids`` B's object is fetched as B (it must carry
B's identity) and as A: A getting B's record is certain. Both directions are tried. At
most ``MAX_REQUESTS`` (20) requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apigrade.checks.bola.object_ids import (
    MAX_REQUESTS,
    Route,
    object_routes,
    shown,
)
from apigrade.checks.common.apiutil import (
    TEMPLATE,
    Counter,
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
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.model import Confidence, Severity

MAX_SELF_PROBES = 3
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
    names = list(ctx.identities)[:2]
    if len(names) < 2:
        return
    budget = Counter(MAX_REQUESTS)
    mes = [await _whoami(ctx, n, budget) for n in names]
    a_me, b_me = mes
    if a_me is None or b_me is None or a_me.id == b_me.id:
        return
    for route in object_routes(ctx):
        for reader, owner in ((a_me, b_me), (b_me, a_me)):
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
            break
