"""Server-side template injection (Jinja2 and other ``{{ }}`` engines).

Detection is arithmetic only: ``{{a*b}}`` with two random 5-6 digit numbers; the
product (9+ digits) appears in the answer only if a template engine evaluated the
value. A hit is then confirmed step by step, each step able to reject it:

1. control: the same numbers without delimiters (``a*b``) must NOT show the
   product (rules out a page that already contains it and plain calculators);
2. a second product with fresh numbers must appear (rules out coincidence);
3. ``{{"tok"*2~"tok".__class__.__name__}}`` tells a Python engine without a
   sandbox (Jinja2 as Flask's ``render_template_string`` uses it): only then is
   the finding critical, because Jinja2's object model leads to code execution.

When the product is missing but the answer shows a template engine's error
(``data/errors.toml``; Django's engine rejects ``{{a*b}}`` with "Could not parse the
remainder") that a benign value's answer does not, the value is compiled as template
source: ``ssti.template-error`` (firm), at one more request per such parameter.

Besides the parameters and reflected path segments, the shared injection points
(``checks/common/injection.py``) add the ones the reflection probe saw come back: a path that
does not exist (a 404 handler rendering the path), request headers (``Referer``,
``User-Agent``, ``X-Forwarded-Host`` ...) and the target's cookies, at most ``MAX_EXTRA`` (5)
of them within ``MAX_FIRST``.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.common.errors import exchange_errors
from apigrade.checks.common.fanout import fan_out, gather_bounded
from apigrade.checks.common.injection import InjectionPoint, points, reflect, worth_probing
from apigrade.checks.common.slots import Slot, get_endpoints, is_numeric, slots, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_FIRST = 20  # first-stage probes
MAX_CONFIRM = 3  # hits followed up (3 requests each)
MAX_PATH_SLOTS = 5  # of MAX_FIRST, reserved for reflected path segments
MAX_EXTRA = 5  # of MAX_FIRST, reserved for reflected headers, cookies and missing paths
EXTRA_KINDS = ("segment", "missing", "header", "cookie")
SEGMENT = "apigrade_segment"  # the template name of a reflected last path segment

_PRIORITY = (
    "name", "q", "query", "search", "s", "message", "msg", "text", "title", "greeting",
    "template", "tpl", "content", "comment", "user", "username", "email", "subject", "body",
    "next", "lang", "page", "view",
)  # fmt: skip
_SEGMENT = rx.compile(r"^[A-Za-z][\w.-]{2,63}$")
_COMMON_SEGMENTS = frozenset({"api", "v1", "v2", "v3", "static", "index.html", "home", "docs"})
_ASSET = rx.compile(r"\.(?:css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|pdf|zip)$", rx.I)
_PAGE_TYPES = ("text/html", "text/plain", "application/json", "application/xhtml+xml", "")


def numbers() -> tuple[int, int]:
    """Two random 5-6 digit factors."""
    return 10_000 + secrets.randbelow(990_000), 10_000 + secrets.randbelow(990_000)


def expr(a: int, b: int) -> str:
    return "{{" + f"{a}*{b}" + "}}"


# -- where to inject --------------------------------------------------------------
def _rank(slot: Slot) -> tuple[int, int]:
    param = next((p for p in slot.endpoint.params if p.name == slot.name), None)
    numeric = is_numeric(param.type if param else None, slot.example)
    name = slot.name.lower()
    return (1 if numeric else 0, _PRIORITY.index(name) if name in _PRIORITY else len(_PRIORITY))


def reflected_segments(ctx: CheckContext) -> list[Slot]:
    """Crawled pages whose last path segment shows up in their own body (``/hello/ada``)."""
    bodies = {
        ex.url: ex.text
        for ex in ctx.exchanges
        if ex.status == 200
        and ex.probe.raw_target is None
        and ex.response.content_type in _PAGE_TYPES
    }
    out = []
    for ep in get_endpoints(ctx):
        if "{" in ep.url or ep.params_in("path"):
            continue
        path = urlsplit(ep.url).path
        head, _, seg = path.rpartition("/")
        body = bodies.get(ep.url)
        if not head or body is None or seg not in body or not _SEGMENT.match(seg):
            continue
        if seg.lower() in _COMMON_SEGMENTS or _ASSET.search(seg):
            continue
        templ = Endpoint(
            url=ep.url[: len(ep.url) - len(seg)] + "{" + SEGMENT + "}",
            params=(*ep.params, Param(SEGMENT, "path", "string", example=seg)),
            source=ep.source,
        )
        out.append(Slot(endpoint=templ, name=SEGMENT, location="path", example=seg))
    return out


def _covered(slot: Slot, shown: list[list[str]]) -> bool:
    """A route's path parameter in the place of a reflected segment (``/greet/{name}`` and the
    crawled ``/greet/ada``): the same sink, tested once, as the segment (it names the page)."""
    if slot.location != "path":
        return False
    parts = urlsplit(slot.endpoint.url).path.split("/")
    for other in shown:
        if len(other) == len(parts) and all(
            a == b or (a.startswith("{") and a.endswith("}")) for a, b in zip(parts, other,
            strict=True)
        ) and parts[-1] == "{" + slot.name + "}":  # fmt: skip
            return True
    return False


def candidates(ctx: CheckContext) -> list[Slot]:
    """Parameters to try, best first, within MAX_FIRST probes."""
    methods = ("GET", "POST") if ctx.active else ("GET",)
    locations = ("query", "path", "form", "body") if ctx.active else ("query", "path")
    paths = reflected_segments(ctx)
    shown = [urlsplit(s.endpoint.url).path.split("/") for s in paths]
    params = sorted(
        (s for s in slots(get_endpoints(ctx, methods), locations) if not _covered(s, shown)),
        key=_rank,
    )
    reserved = paths[:MAX_PATH_SLOTS]
    chosen = params[: MAX_FIRST - len(reserved)] + reserved
    return chosen + paths[len(reserved) :][: MAX_FIRST - len(chosen)]


async def extra_points(ctx: CheckContext, taken: list[Slot]) -> list[Slot]:
    """Headers, cookies, missing paths and segments whose marker came back (not in ``taken``)."""
    pts = points(ctx, EXTRA_KINDS)
    seen = await reflect(ctx, pts)
    have = {(s.endpoint.url, s.name) for s in taken}
    out: list[Slot] = []
    for p in worth_probing(pts, seen):
        if seen[p.key].reflected and (p.endpoint.url, p.name) not in have:
            out.append(p)
    return out[:MAX_EXTRA]


# -- probing ----------------------------------------------------------------------
async def _send(ctx: CheckContext, slot: Slot, payload: str) -> Exchange | None:
    probe = slot.probe(payload)
    return None if probe is None else await ctx.send(probe)


First = tuple[Slot, Exchange, int, int]


async def first_stage(ctx: CheckContext, slot: Slot) -> First | Hit | None:
    """The product (to confirm), a template error the expression caused, or nothing."""
    a, b = numbers()
    ex = await _send(ctx, slot, expr(a, b))
    if ex is None or (ex.status == 404 and slot.name == SEGMENT):
        return None  # a segment that leads to the not-found page: the missing points test it
    if str(a * b) not in ex.text:
        return await template_error(ctx, slot, ex)
    return slot, ex, a, b


async def template_error(ctx: CheckContext, slot: Slot, ex: Exchange) -> Hit | None:
    """``ssti.template-error`` when the answer to ``{{a*b}}`` shows a template engine's error
    (Django: "Could not parse the remainder") that a benign value's answer does not: the value
    is compiled as template source. One more request, only when an error shows."""
    errs = exchange_errors(ex, "ssti.template-injection", ("template",))
    if not errs:
        return None
    benign = slot.example or "test"
    base = await _send(ctx, slot, benign)
    if base is None or any(
        e.name == errs[0].name for e in exchange_errors(base, "ssti.template-injection")
    ):
        return None
    return Hit(
        url=slot.baseline_url() or ex.url,
        method=slot.method,
        parameter=_parameter(slot),
        evidence=(
            f"{slot_label(slot)}: {benign!r} -> {base.status}, no error; {{{{a*b}}}} -> "
            f"{ex.status} with a template engine error from {errs[0].name} "
            f"({errs[0].excerpt[:200]})"
        ),  # fmt: skip
        check="ssti.template-error",
    )


async def confirm(ctx: CheckContext, slot: Slot, a: int, b: int) -> Hit | None:
    """Control, second product, engine identity; None when any step says no."""
    steps = [f"{expr(a, b)} -> {a * b}"]
    control = await _send(ctx, slot, f"{a}*{b}")
    if control is None or str(a * b) in control.text:
        return None
    steps.append(f"{a}*{b} -> not evaluated")
    c, d = numbers()
    second = await _send(ctx, slot, expr(c, d))
    if second is None or str(c * d) not in second.text:
        return None
    steps.append(f"{expr(c, d)} -> {c * d}")
    tok = token()
    identity = '{{"' + tok + '"*2~"' + tok + '".__class__.__name__}}'
    third = await _send(ctx, slot, identity)
    python = third is not None and f"{tok}{tok}str" in third.text
    steps.append(f"{identity} -> " + (f"{tok}{tok}str" if python else "no Python object access"))
    pathlike = _parameter(slot) is None or slot.location in ("header", "cookie")
    pathlike = pathlike or slot.location == "graphql"  # the payload is in the document
    hit = Hit(
        # a path-segment payload is part of the URL: report the page itself (stable id)
        url=(slot.baseline_url() or second.url) if pathlike else second.url,
        method=slot.method,
        parameter=_parameter(slot),
        evidence=f"{slot_label(slot)}: " + "; ".join(steps),
    )
    if python:
        hit.severity = Severity.CRITICAL
        hit.title = "Server-side template injection (Jinja2): remote code execution"
    return hit


def slot_label(slot: Slot) -> str:
    if slot.name == SEGMENT:
        return "path segment"
    if isinstance(slot, InjectionPoint):
        return slot.label
    return f"{slot.location} parameter {slot.name!r}"


def _parameter(slot: Slot) -> str | None:
    if isinstance(slot, InjectionPoint):
        return slot.parameter
    return None if slot.name == SEGMENT else slot.name


async def _confirm_first(ctx: CheckContext, first: First) -> Hit | None:
    """The second stage of a first-stage hit."""
    slot, _ex, a, b = first
    return await confirm(ctx, slot, a, b)


@active(
    id="ssti.template-injection",
    title="Server-side template injection",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=1336,
    owasp="API8:2023",
)
async def template_injection(ctx: CheckContext) -> None:
    """Arithmetic in each candidate, then a three-step confirmation of each hit."""
    chosen = candidates(ctx)
    extra = await extra_points(ctx, chosen)
    chosen = chosen[: MAX_FIRST - len(extra)] + extra
    firsts = await gather_bounded(ctx, chosen, first_stage)
    for error in (f for f in firsts if isinstance(f, Hit)):
        ctx.report(error)
    hits = [f for f in firsts if isinstance(f, tuple)][:MAX_CONFIRM]
    await fan_out(ctx, hits, _confirm_first)
