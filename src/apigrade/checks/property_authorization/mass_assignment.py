"""Mass assignment: privileged properties accepted from the client (CWE-915). ``--active`` only.

Candidates: up to ``MAX_ENDPOINTS`` (5) create/update endpoints, in this order:

1. POST/PUT/PATCH endpoints without path templates from the spec or HTML forms whose path
   looks like registration or a user/account update (register, signup, users, me ...);
2. other POST endpoints of the spec or forms that create things (not login, logout,
   search, upload or similar actions);
3. POST to a JSON collection the scan read (``GET /api/accounts`` answered a list of
   records with ids): its body is inferred from the records' fields.

Each gets one write with its documented (or observed) fields filled with harmless values
(unique ``apigrade-…`` names, an example.com address), plus privileged properties the
spec does not declare: ``is_admin``, ``admin`` and ``role`` always, and each other
privileged property (``permissions``, ``verified``, ``balance``, ``credits``, ``plan``,
``is_staff``, ``is_superuser``, ``owner_id`` ...) that records of the scan show, spelt as
the app spells it. The values sent differ from the usual defaults (``true``, ``"admin"``,
``1000000``), plus a control property with a random name. A PUT/PATCH target is read
first: already privileged means no test.

A property counts as accepted when it comes back with the value sent, and that value is
not the default: not the value the object had before (PUT/PATCH), nor the most common
value of that property among the collection's records the scan saw.

* the follow-up GET of the object (the page the write redirected to, ``Location``,
  ``<collection>/<id>`` or the updated URL itself) shows an accepted value: certain;
* only the write's answer shows it, and the control property is not echoed (so the
  answer is not a blind echo of the request): firm.

Then, for up to ``MAX_UPDATES`` (2) collections this check created an object in, the
templated update route (``PATCH /api/accounts/{id}``, else PUT) of that same object gets
the same test: the scanner only ever changes records it created itself.

At most 3 requests per endpoint (read before a PUT/PATCH, write, read-back): 21 in all.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from apigrade import rx
from apigrade.checks.common.apiutil import (
    TEMPLATE,
    json_body,
    norm_key,
    path_of,
    record,
    record_id,
    segments,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

MAX_ENDPOINTS = 5
MAX_UPDATES = 2  # templated update routes, only on objects this check created
MAX_RECORDS = 50  # records per answer read for observed fields and defaults
#: always sent (the classic names)
EXTRA: dict[str, Any] = {"is_admin": True, "admin": True, "role": "admin"}
#: further privileged properties, sent when records of the scan show them (normalised name)
PRIVILEGED: dict[str, Any] = {
    "isadmin": True, "admin": True, "role": "admin", "roles": ["admin"], "permissions": ["admin"],
    "scopes": ["admin"], "groups": ["admin"], "isstaff": True, "staff": True,
    "issuperuser": True, "superuser": True, "verified": True, "isverified": True,
    "emailverified": True, "approved": True, "isapproved": True, "balance": 1000000,
    "credits": 1000000, "credit": 1000000, "plan": "enterprise", "tier": "enterprise",
    "subscription": "enterprise", "accounttype": "admin", "usertype": "admin", "ownerid": 1,
    "level": "admin", "ispremium": True, "premium": True,
}  # fmt: skip
_WRITE_SEGMENTS = frozenset({
    "register", "registration", "signup", "sign-up", "users", "user", "accounts", "account",
    "profile", "me", "settings", "members", "customers",
})  # fmt: skip
#: actions, not object creation: never written to
_NOT_CREATE = frozenset({
    "login", "logout", "signin", "sign-in", "signout", "auth", "token", "oauth", "session",
    "sessions", "search", "query", "graphql", "upload", "uploads", "delete", "remove",
    "password", "reset", "forgot", "verify", "confirm", "callback", "webhook", "webhooks",
    "chat", "completions", "ask", "prompt", "logs", "batch", "import", "export",
    # actions with effects beyond a new record of the caller's
    "transfer", "checkout", "pay", "payment", "payments", "withdraw", "send", "destroy",
    "invite", "unsubscribe", "subscribe", "email", "sms", "notify", "contact",
})  # fmt: skip
_NAMEISH = rx.compile(r"(?i)^(?:user_?name|login|handle|nickname|display_?name|name)$")
_LIST_KEYS = ("items", "data", "results", "records", "objects", "users", "accounts")


def _json_type(ctype: str | None) -> bool:
    return ctype is None or "json" in ctype.lower()


def _segs(url: str) -> set[str]:
    return {s.lower() for s in segments(path_of(url))}


# -- what the scan saw: records of JSON collections ----------------------------------------------
def records_of(value: Any) -> list[dict[str, Any]]:
    """The records a JSON answer holds: a list of objects, one under a list key, or one object."""
    if isinstance(value, dict):
        for key in (*_LIST_KEYS, *value):
            inner = value.get(key)
            if isinstance(inner, list) and inner and all(isinstance(v, dict) for v in inner[:5]):
                return [v for v in inner[:MAX_RECORDS] if isinstance(v, dict)]
        rec = record(value)
        return [rec] if rec else []
    if isinstance(value, list):
        return [v for v in value[:MAX_RECORDS] if isinstance(v, dict)]
    return []


def _bare(url: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, p.path.rstrip("/") or "/", "", ""))


def _seen_records(ctx: CheckContext) -> dict[str, list[dict[str, Any]]]:
    """Plain GET answers of discovered endpoints: URL -> the records it held (other
    checks' probes, with their own queries and paths, do not count)."""
    known = {e.url for e in ctx.endpoints if e.method.upper() == "GET"}
    out: dict[str, list[dict[str, Any]]] = {}
    for ex in list(ctx.exchanges):
        if ex.probe.method != "GET" or ex.status != 200 or ex.probe.url not in known:
            continue
        recs = records_of(json_body(ex))
        if recs:
            out.setdefault(_bare(ex.url), recs)
    return out


def _collection_records(seen: dict[str, list[dict[str, Any]]], url: str) -> list[dict[str, Any]]:
    """Records of the collection at ``url`` and of its items (``url/<id>``)."""
    base = _bare(url)
    return [r for u, recs in seen.items() if u == base or u.startswith(base + "/") for r in recs]


def defaults(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """The most common value of each scalar property among ``recs``."""
    counts: dict[str, Counter[str]] = {}
    for rec in recs:
        for k, v in rec.items():
            counts.setdefault(k, Counter())[json.dumps(v, sort_keys=True)] += 1
    return {k: json.loads(c.most_common(1)[0][0]) for k, c in counts.items()}


def _like(seen: Any, sent: Any) -> Any:
    """``sent`` in the type the app uses for the property (None: no sensible value)."""
    if seen is None:
        return sent
    if isinstance(seen, bool):
        return True
    if isinstance(seen, list):
        return sent if isinstance(sent, list) else [sent]
    if isinstance(seen, int | float):
        return sent if isinstance(sent, int | float) and not isinstance(sent, bool) else None
    if isinstance(seen, str):
        return sent if isinstance(sent, str) else None
    return None


def privileged_extra(recs: list[dict[str, Any]]) -> dict[str, Any]:
    """``EXTRA`` plus the privileged properties records show, as the app spells them."""
    out = dict(EXTRA)
    for rec in recs:
        for key, value in rec.items():
            nk = norm_key(str(key))
            if nk in PRIVILEGED and str(key) not in out:
                sent = _like(value, PRIVILEGED[nk])
                if sent is not None:
                    out[str(key)] = sent
    return out


# -- candidates ----------------------------------------------------------------------------------
def _param_of(key: str, value: Any) -> Param:
    kind = ("boolean" if isinstance(value, bool) else "integer" if isinstance(value, int)
            else "number" if isinstance(value, float) else "array" if isinstance(value, list)
            else "object" if isinstance(value, dict) else "string")  # fmt: skip
    example = str(value) if isinstance(value, int) and not isinstance(value, bool) else None
    return Param(name=key, location="body", type=kind, example=example)


def observed_fields(rec: dict[str, Any]) -> tuple[Param, ...]:
    """Body fields for a new record like ``rec``: its plain, unprivileged properties."""
    return tuple(
        _param_of(str(k), v) for k, v in rec.items()
        if norm_key(str(k)) not in PRIVILEGED and str(k) != "id" and not isinstance(v, dict | list)
    )  # fmt: skip


def inferred(
    seen: dict[str, list[dict[str, Any]]], origin: str, documented: set[str]
) -> list[Endpoint]:
    """POST endpoints for JSON collections: answers holding several records with ids, at
    paths no spec documents (a spec that lists the path without a POST has said no)."""
    out = []
    for url, recs in seen.items():
        if not url.startswith(origin) or len(recs) < 2 or not all(record_id(r) for r in recs[:5]):
            continue
        if _NOT_CREATE & _segs(url) or url in documented:
            continue
        out.append(Endpoint(url=url, method="POST", params=observed_fields(recs[0]),
                            source="inferred", content_type="application/json"))  # fmt: skip
    return out


def _with_fields(ep: Endpoint, seen: dict[str, list[dict[str, Any]]]) -> Endpoint:
    """A POST endpoint that documents no body gets the fields of its collection's records."""
    if ep.method.upper() != "POST" or any(p.location in ("body", "form") for p in ep.params):
        return ep
    recs = seen.get(_bare(ep.url))
    if not recs or len(recs) < 2:
        return ep
    return replace(ep, params=(*ep.params, *observed_fields(recs[0])), source="inferred",
                   content_type=ep.content_type or "application/json")  # fmt: skip


def candidates(ctx: CheckContext) -> list[Endpoint]:
    """The endpoints tested, user and account endpoints first (at most ``MAX_ENDPOINTS``)."""
    ranked: dict[tuple[str, str], tuple[int, Endpoint]] = {}
    for ep in ctx.endpoints:
        method = ep.method.upper()
        if method not in ("POST", "PUT", "PATCH") or TEMPLATE.search(ep.url):
            continue
        ctype = ep.content_type
        if not _json_type(ctype) and "x-www-form-urlencoded" not in (ctype or ""):
            continue
        segs = _segs(ep.url)
        if _WRITE_SEGMENTS & segs and not {"login", "logout", "signin", "token"} & segs:
            ranked.setdefault((method, ep.url), (0, ep))
        elif method == "POST" and segs and not _NOT_CREATE & segs:
            ranked.setdefault((method, ep.url), (1, ep))
    seen = _seen_records(ctx)
    documented = {_bare(e.url) for e in ctx.endpoints if e.source == "openapi"}
    for ep in inferred(seen, ctx.target.origin, documented):
        key = ("POST", ep.url)
        if key not in ranked:
            ranked[key] = (0 if _WRITE_SEGMENTS & _segs(ep.url) else 2, ep)
    ordered = sorted(ranked.values(), key=lambda r: r[0])
    return [_with_fields(ep, seen) for _, ep in ordered][:MAX_ENDPOINTS]


# -- the probe -----------------------------------------------------------------------------------
def field_value(p: Param, tok: str) -> Any:
    """A harmless, valid-looking value for one documented field."""
    name = p.name.lower()
    if "email" in name:
        return f"apigrade-{tok}@example.com"
    if "password" in name:
        return f"Apigrade-{tok}-9!"
    if _NAMEISH.match(p.name):
        return f"apigrade_{tok}"
    if p.type == "integer":
        return int(p.example) if p.example and p.example.lstrip("-").isdigit() else 1
    if p.type == "number":
        return 1.0
    if p.type == "boolean":
        return False
    if p.type == "array":
        return []
    if p.type == "object":
        return {}
    return p.example or f"apigrade-{tok}"


def build_body(
    ep: Endpoint, tok: str, extra: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """(body, injected properties, control name); None when the spec declares them all."""
    fields = [p for p in ep.params if p.location in ("body", "form")]
    declared = {norm_key(p.name) for p in fields} if ep.source != "inferred" else set()
    wanted = EXTRA if extra is None else extra
    extra = {k: v for k, v in wanted.items() if norm_key(k) not in declared}
    if not extra:
        return None
    control = f"apigrade_probe_{tok}"
    body = {p.name: field_value(p, tok) for p in fields if p.name not in extra}
    return {**body, **extra, control: tok}, extra, control


def injected(
    rec: dict[str, Any] | None, extra: dict[str, Any], default: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The injected properties ``rec`` carries with the values sent (not their defaults)."""
    if rec is None:
        return {}
    out = {}
    for key, value in extra.items():
        got = rec.get(key)
        same = got == value or (
            isinstance(value, str) and isinstance(got, str) and got.lower() == value
        )
        if same and not (default and key in default and default[key] == got):
            out[key] = got
    return out


def _encode(ep: Endpoint, body: dict[str, Any]) -> tuple[bytes, str]:
    if _json_type(ep.content_type):
        return json.dumps(body).encode(), "application/json"
    flat = {k: json.dumps(v) if isinstance(v, bool | list) else str(v) for k, v in body.items()}
    return urlencode(flat).encode(), "application/x-www-form-urlencoded"


def _follow_up_url(ep: Endpoint, ex: Exchange, rec: dict[str, Any] | None) -> str | None:
    location = ex.response.header("location")
    if location:
        return urljoin(ex.url, location)
    if ep.method.upper() in ("PUT", "PATCH"):
        return ep.url
    rid = record_id(rec) if rec else None
    if rid is not None:
        return ep.url.rstrip("/") + "/" + rid
    return None


def _shown(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {json.dumps(v)}" for k, v in values.items())


async def _read(ctx: CheckContext, url: str, tag: str) -> Exchange | None:
    """A fresh GET of ``url``: its own request id keeps the engine's cache from answering
    with what an earlier read saw."""
    return await ctx.get(
        url, headers=(("Cache-Control", "no-cache"), ("X-Request-Id", f"apigrade-{tag}"))
    )


async def _test(
    ctx: CheckContext, ep: Endpoint, seen: dict[str, list[dict[str, Any]]], url: str | None = None
) -> str | None:
    """Write ``ep`` (at ``url``, a filled template) with privileged properties and read it
    back; the URL of the object written (for a later update of it), or None."""
    target = url or ep.url
    tok = secrets.token_hex(4)
    recs = _collection_records(seen, target)
    method = ep.method.upper()
    base = defaults(recs)
    if method in ("PUT", "PATCH"):
        before = record(json_body(await _read(ctx, target, f"{tok}-before")))
        if before is not None:
            recs, base = [*recs, before], {**base, **before}
            if not any(p.location in ("body", "form") for p in ep.params):
                ep = replace(ep, params=(*ep.params, *observed_fields(before)), source="inferred")
    built = build_body(ep, tok, privileged_extra(recs))
    if built is None:
        return None
    body, extra, control = built
    if method in ("PUT", "PATCH") and injected(base, extra):
        return None  # already privileged: nothing to learn
    data, ctype = _encode(ep, body)
    ex = await ctx.send(
        Probe(url=target, method=method, headers=(("Content-Type", ctype),), body=data)
    )
    if ex is None or ex.status >= 400:
        return None
    rec = record(json_body(ex))
    if ex.redirects:  # the write redirected to a GET: its answer is the read-back
        follow: str | None = ex.url
        base = {**defaults(_collection_records(seen, ex.url)), **base}
        echoed, stored = {}, injected(rec, extra, base)
    else:
        echoed = injected(rec, extra, base)
        follow = _follow_up_url(replace(ep, url=target), ex, rec)
        if follow:
            base = {**defaults(_collection_records(seen, follow)), **base}
        after = await _read(ctx, follow, f"{tok}-after") if follow else None
        stored = injected(record(json_body(after)), extra, base)
    answer = "a redirect" if ex.redirects else str(ex.status)
    sent = f"{method} {path_of(target)} with {_shown(extra)} -> {answer}"
    if stored:
        ctx.report(Hit(url=ep.url, method=method, confidence=Confidence.CERTAIN,
                       evidence=f"{sent}; GET {path_of(follow or '')} -> {_shown(stored)}"))  # fmt: skip
    elif echoed and rec is not None and control not in rec:
        ctx.report(Hit(url=ep.url, method=method,
                       evidence=f"{sent}; the answer carries {_shown(echoed)}"))  # fmt: skip
    return follow


def updates(ctx: CheckContext, created: dict[str, str]) -> list[tuple[Endpoint, str]]:
    """Templated update routes (``PATCH /api/accounts/{id}``) of collections this check
    created an object in, with that object's URL: the scanner only changes its own
    records. PATCH before PUT, one per collection, at most ``MAX_UPDATES``."""
    out: dict[str, tuple[Endpoint, str]] = {}
    eps = sorted(ctx.endpoints, key=lambda e: e.method.upper() != "PATCH")
    for ep in eps:
        if ep.method.upper() not in ("PUT", "PATCH"):
            continue
        parent, _, last = ep.url.rstrip("/").rpartition("/")
        if TEMPLATE.fullmatch(last) is None or TEMPLATE.search(parent):
            continue
        obj = created.get(_bare(parent))
        if obj is not None and obj.rpartition("/")[0] == _bare(parent):
            out.setdefault(_bare(parent), (ep, obj))
    return list(out.values())[:MAX_UPDATES]


@active(
    id="props.mass-assignment",
    title="Privileged properties can be set by the client (mass assignment)",
    category="property-authorization",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=915,
    owasp="API3:2023",
)
async def mass_assignment(ctx: CheckContext) -> None:
    if not ctx.active:
        return  # writes need --active
    seen = _seen_records(ctx)
    created: dict[str, str] = {}
    for ep in candidates(ctx):
        obj = await _test(ctx, ep, seen)
        if obj is not None and ep.method.upper() == "POST":
            created[_bare(ep.url)] = _bare(obj)
    for ep, obj in updates(ctx, created):
        await _test(ctx, ep, seen, url=obj)
