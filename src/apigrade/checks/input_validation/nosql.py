"""NoSQL operator injection: ``param[$ne]=x`` or ``{"param": {"$ne": "x"}}`` reaches the query.

Three requests per place, all with the same random value ``tok`` that matches nothing:

* control ``p=tok``: what a non-matching value gets (say 401, or an empty list);
* probe ``p[$ne]=tok``: "anything but tok"; a query that takes operators now
  matches (2xx instead of 4xx, or more records);
* confirmation ``p[$eq]=tok``: "exactly tok" must look like the control again.

The confirmation rules out the usual false alarm: an app that ignores the unknown
``p[$ne]`` parameter and lists everything when ``p`` is missing answers ``p[$eq]``
the same way, so it is not reported. Query parameters are tried one at a time (GET);
JSON and form bodies (with --active only) get every string field as an operator at
once, which is what a login bypass needs (``{"username": {"$ne": ..}, "password":
{"$ne": ..}}``).

CWE: the contract's table has no NoSQL row and CWE-89 is SQL only, so CWE-943
(improper neutralization of special elements in data query logic, the parent of 89)
is used.

Bound: at most 8 query parameters and 4 body endpoints, 3 requests each: 36 requests.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from apigrade.checks.common.apiutil import json_body
from apigrade.checks.common.fanout import fan_out
from apigrade.checks.common.slots import (
    Slot,
    build_url,
    default_value,
    get_endpoints,
    is_numeric,
    slots,
    token,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

MAX_QUERY = 8
MAX_BODIES = 4
#: one place's three requests, as ``fan_out`` runs it
Test = Callable[[CheckContext], Awaitable[Hit | None]]


@dataclass(frozen=True)
class Shape:
    """What a response says, for comparing control, probe and confirmation."""

    status: int
    records: int | None
    size: int

    def more_than(self, other: Shape) -> bool:
        """This answer grants or returns more than ``other``."""
        if self.status < 300 <= other.status and other.status in (401, 403, 404):
            return True
        if self.status >= 300 or other.status >= 300:
            return False
        if self.records is not None and other.records is not None:
            return self.records > other.records
        return self.size > other.size * 1.5 + 50

    def like(self, other: Shape) -> bool:
        if self.status != other.status:
            return False
        if self.records is not None or other.records is not None:
            return self.records == other.records
        return abs(self.size - other.size) <= max(40, other.size // 5)


def records(body: Any) -> int | None:
    """Number of records: a list, or the first list inside an object."""
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for value in body.values():
            if isinstance(value, list):
                return len(value)
    return None


def shape(ex: Exchange) -> Shape:
    return Shape(ex.status, records(json_body(ex)), len(ex.response.body))


# -- requests -----------------------------------------------------------------------
def _query_probe(slot: Slot, name: str, value: str) -> Probe | None:
    """The endpoint's URL with ``slot`` replaced by ``name=value`` (name as given)."""
    url = build_url(slot.endpoint, {("query", slot.name): "__apigrade__"})
    if url is None:
        return None
    old = f"{quote(slot.name, safe='')}=__apigrade__"
    new = f"{quote(name, safe='[]$')}={quote(value, safe='')}"
    return Probe(url=url.replace(old, new), follow_redirects=False)


def _body_probe(ep: Endpoint, op: str | None, tok: str) -> Probe | None:
    """Every string field of the body as ``tok``, or as ``{op: tok}``."""
    url = build_url(ep, {})
    if url is None:
        return None
    location = "body" if ep.params_in("body") else "form"
    fields: dict[str, Any] = {}
    for p in ep.params_in(location):
        if is_numeric(p.type, p.example) or p.type in ("object", "array"):
            fields[p.name] = default_value(p)
        else:
            fields[p.name] = tok if op is None else {op: tok}
    if location == "body":
        body, ctype = json.dumps(fields).encode(), "application/json"
    else:
        flat = []  # the bracket syntax of qs / body-parser "extended" forms
        for k, v in fields.items():
            flat.append((f"{k}[{op}]", tok) if isinstance(v, dict) else (k, v))
        body, ctype = urlencode(flat).encode(), "application/x-www-form-urlencoded"
    return Probe(url=url, method=ep.method.upper(), headers=(("Content-Type", ctype),),
                 body=body, follow_redirects=False)  # fmt: skip


async def _shapes(ctx: CheckContext, probes: list[Probe | None]) -> list[Exchange] | None:
    out = []
    for probe in probes:  # in order: the confirmation only when the probe differs
        ex = None if probe is None else await ctx.send(probe)
        if ex is None:
            return None
        out.append(ex)
        if len(out) == 2 and not shape(out[1]).more_than(shape(out[0])):
            return None
    return out


def _verdict(exs: list[Exchange] | None) -> str | None:
    if exs is None or len(exs) < 3:
        return None
    control, probe, confirm = (shape(e) for e in exs)
    if not (probe.more_than(control) and confirm.like(control)):
        return None

    def show(s: Shape) -> str:
        return f"{s.status}" + (f" ({s.records} records)" if s.records is not None else
                                f" ({s.size} bytes)")  # fmt: skip

    return f"control {show(control)}, $ne {show(probe)}, $eq {show(confirm)}"


async def test_query(ctx: CheckContext, slot: Slot) -> Hit | None:
    tok = token(10)
    exs = await _shapes(ctx, [
        _query_probe(slot, slot.name, tok),
        _query_probe(slot, f"{slot.name}[$ne]", tok),
        _query_probe(slot, f"{slot.name}[$eq]", tok),
    ])  # fmt: skip
    verdict = _verdict(exs)
    if verdict is None or exs is None:
        return None
    return Hit(url=slot.baseline_url() or exs[1].url, parameter=slot.name,
               evidence=f"query parameter {slot.name!r} as {slot.name}[$ne]: {verdict}")  # fmt: skip


async def test_body(ctx: CheckContext, ep: Endpoint) -> Hit | None:
    tok = token(10)
    exs = await _shapes(ctx, [_body_probe(ep, op, tok) for op in (None, "$ne", "$eq")])
    verdict = _verdict(exs)
    if verdict is None:
        return None
    kind = "JSON body" if ep.params_in("body") else "form body"
    hit = Hit(url=ep.url, method=ep.method.upper(),
              evidence=f"{kind} fields as {{\"$ne\": ...}}: {verdict}")  # fmt: skip
    if exs is not None and exs[0].status in (401, 403) and exs[1].status < 300:
        hit.title = "NoSQL operator injection bypasses authentication"
    return hit


def _body_endpoints(ctx: CheckContext) -> list[Endpoint]:
    if not ctx.active:
        return []
    out = []
    for ep in get_endpoints(ctx, ("POST", "PUT", "PATCH")):
        params = ep.params_in("body") or ep.params_in("form")
        if params and any(not is_numeric(p.type, p.example) for p in params):
            out.append(ep)
    return out[:MAX_BODIES]


@active(
    id="nosql.operator-injection",
    title="NoSQL operator injection",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=943,
    owasp="API8:2023",
)
async def nosql_injection(ctx: CheckContext) -> None:
    query = [s for s in slots(get_endpoints(ctx)) if not s.name.endswith("]")][:MAX_QUERY]
    tests: list[Test] = [
        *(partial(test_query, slot=s) for s in query),
        *(partial(test_body, ep=e) for e in _body_endpoints(ctx)),
    ]
    await fan_out(ctx, tests, _run)


async def _run(ctx: CheckContext, test: Test) -> Hit | None:
    return await test(ctx)
