"""Mass assignment: privileged properties accepted from the client (CWE-915). ``--active`` only.

Candidates: up to ``MAX_ENDPOINTS`` (3) POST/PUT/PATCH endpoints without path templates
(from the spec or HTML forms) whose path looks like registration or a user/account
update (register, signup, users, account, profile, me, settings...). Each gets one
write with its documented fields filled with harmless values (unique ``apigrade-…``
names, an example.com address), plus properties the spec does not declare:
``is_admin: true``, ``admin: true``, ``role: "admin"``, and a control property with a
random name. A PUT/PATCH target is read first: already an admin means no test.

* the follow-up GET of the object (``Location``, ``<collection>/<id>`` or the updated
  URL itself) shows an injected value: certain;
* only the write's answer shows it, and the control property is not echoed (so the
  answer is not a blind echo of the request): firm.

At most 3 requests per endpoint (read, write, follow-up): 9 in all.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlencode, urljoin

from apigrade import rx
from apigrade.checks.common.apiutil import TEMPLATE, json_body, path_of, record, segments
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

MAX_ENDPOINTS = 3
EXTRA: dict[str, Any] = {"is_admin": True, "admin": True, "role": "admin"}
_WRITE_SEGMENTS = frozenset({
    "register", "registration", "signup", "sign-up", "users", "user", "accounts", "account",
    "profile", "me", "settings", "members", "customers",
})  # fmt: skip
_NAMEISH = rx.compile(r"(?i)^(?:user_?name|login|handle|nickname|display_?name|name)$")


def _json_type(ctype: str | None) -> bool:
    return ctype is None or "json" in ctype.lower()


def candidates(ctx: CheckContext) -> list[Endpoint]:
    out: dict[tuple[str, str], Endpoint] = {}
    for ep in ctx.endpoints:
        method = ep.method.upper()
        if method not in ("POST", "PUT", "PATCH") or TEMPLATE.search(ep.url):
            continue
        ctype = ep.content_type
        if not _json_type(ctype) and "x-www-form-urlencoded" not in (ctype or ""):
            continue
        if _WRITE_SEGMENTS & {s.lower() for s in segments(path_of(ep.url))}:
            out.setdefault((method, ep.url), ep)
    return list(out.values())[:MAX_ENDPOINTS]


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


def build_body(ep: Endpoint, tok: str) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """(body, injected properties, control name); None when the spec declares them all."""
    fields = [p for p in ep.params if p.location in ("body", "form")]
    declared = {p.name.lower() for p in fields}
    extra = {k: v for k, v in EXTRA.items() if k not in declared}
    if not extra:
        return None
    control = f"apigrade_probe_{tok}"
    body = {p.name: field_value(p, tok) for p in fields}
    return {**body, **extra, control: tok}, extra, control


def injected(rec: dict[str, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
    """The injected properties ``rec`` carries with the injected values."""
    if rec is None:
        return {}
    out = {}
    for key, value in extra.items():
        got = rec.get(key)
        if got == value or (
            isinstance(value, str) and isinstance(got, str) and got.lower() == value
        ):
            out[key] = got
    return out


def _encode(ep: Endpoint, body: dict[str, Any]) -> tuple[bytes, str]:
    if _json_type(ep.content_type):
        return json.dumps(body).encode(), "application/json"
    flat = {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in body.items()}
    return urlencode(flat).encode(), "application/x-www-form-urlencoded"


def _follow_up_url(ep: Endpoint, ex: Exchange, rec: dict[str, Any] | None) -> str | None:
    location = ex.response.header("location")
    if location:
        return urljoin(ex.url, location)
    if ep.method.upper() in ("PUT", "PATCH"):
        return ep.url
    rid = rec.get("id") if rec else None
    if isinstance(rid, int | str) and not isinstance(rid, bool) and str(rid):
        return ep.url.rstrip("/") + "/" + str(rid)
    return None


def _shown(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {json.dumps(v)}" for k, v in values.items())


@active(
    id="props.mass-assignment",
    title="Privileged properties can be set by the client (mass assignment)",
    category="property-authorization",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=915,
    owasp="API3:2023",
    description=(
        "A registration or update endpoint accepted properties the client must not control "
        "(is_admin, admin, role) that its documentation does not declare, and stored or "
        "returned them. Anyone can make themselves an administrator by adding a field to "
        "the request body."
    ),
    remediation=(
        "Bind request bodies to an explicit allow list of writable fields. Flask: copy "
        "named fields (`user.name = data['name']`), never `User(**request.json)` or "
        "`for k, v in data.items(): setattr(user, k, v)`; marshmallow: a load schema "
        "without the privileged fields and `unknown = RAISE`; FastAPI/pydantic: a separate "
        "input model (`class UserIn(BaseModel): model_config = ConfigDict(extra='forbid')`) "
        "without `role` / `is_admin`. Set roles only in admin-only endpoints."
    ),
    references=(
        "https://owasp.org/API-Security/editions/2023/en/0xa3-broken-object-property-level-authorization/",
        "https://cheatsheetseries.owasp.org/cheatsheets/Mass_Assignment_Cheat_Sheet.html",
    ),
)
async def mass_assignment(ctx: CheckContext) -> None:
    if not ctx.active:
        return  # writes need --active
    for ep in candidates(ctx):
        tok = secrets.token_hex(4)
        built = build_body(ep, tok)
        if built is None:
            continue
        body, extra, control = built
        method = ep.method.upper()
        if method in ("PUT", "PATCH"):
            before = record(json_body(await ctx.get(ep.url)))
            if injected(before, extra):
                continue  # already privileged: nothing to learn
        data, ctype = _encode(ep, body)
        ex = await ctx.send(
            Probe(url=ep.url, method=method, headers=(("Content-Type", ctype),), body=data)
        )
        if ex is None or ex.status >= 400:
            continue
        rec = record(json_body(ex))
        echoed = injected(rec, extra)
        follow = _follow_up_url(ep, ex, rec)
        stored = injected(record(json_body(await ctx.get(follow))), extra) if follow else {}
        sent = f"{method} {path_of(ep.url)} with {_shown(extra)} -> {ex.status}"
        if stored:
            ctx.report(Hit(url=ep.url, method=method, confidence=Confidence.CERTAIN,
                           evidence=f"{sent}; GET {path_of(follow or '')} -> {_shown(stored)}"))  # fmt: skip
        elif echoed and rec is not None and control not in rec:
            ctx.report(Hit(url=ep.url, method=method,
                           evidence=f"{sent}; the answer carries {_shown(echoed)}"))  # fmt: skip
