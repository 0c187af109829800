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
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from apigrade import rx
from apigrade.checks.common.fanout import fan_out, gather_bounded
from apigrade.checks.common.slots import Slot, get_endpoints, is_numeric, slots, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity

MAX_FIRST = 20  # first-stage probes
MAX_CONFIRM = 3  # hits followed up (3 requests each)
MAX_PATH_SLOTS = 5  # of MAX_FIRST, reserved for reflected path segments
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


def candidates(ctx: CheckContext) -> list[Slot]:
    """Parameters to try, best first, within MAX_FIRST probes."""
    methods = ("GET", "POST") if ctx.active else ("GET",)
    locations = ("query", "path", "form", "body") if ctx.active else ("query", "path")
    params = sorted(slots(get_endpoints(ctx, methods), locations), key=_rank)
    paths = reflected_segments(ctx)
    reserved = paths[:MAX_PATH_SLOTS]
    chosen = params[: MAX_FIRST - len(reserved)] + reserved
    return chosen + paths[len(reserved) :][: MAX_FIRST - len(chosen)]


# -- probing ----------------------------------------------------------------------
async def _send(ctx: CheckContext, slot: Slot, payload: str) -> Exchange | None:
    probe = slot.probe(payload)
    return None if probe is None else await ctx.send(probe)


async def first_stage(ctx: CheckContext, slot: Slot) -> tuple[Slot, Exchange, int, int] | None:
    a, b = numbers()
    ex = await _send(ctx, slot, expr(a, b))
    if ex is None or str(a * b) not in ex.text:
        return None
    return slot, ex, a, b


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
    segment = slot.name == SEGMENT
    hit = Hit(
        # a path-segment payload is part of the URL: report the page itself (stable id)
        url=(slot.baseline_url() or second.url) if segment else second.url,
        method=slot.method,
        parameter=None if segment else slot.name,
        evidence=f"{slot_label(slot)}: " + "; ".join(steps),
    )
    if python:
        hit.severity = Severity.CRITICAL
        hit.title = "Server-side template injection (Jinja2): remote code execution"
    return hit


def slot_label(slot: Slot) -> str:
    if slot.name == SEGMENT:
        return "path segment"
    return f"{slot.location} parameter {slot.name!r}"


async def _confirm_first(ctx: CheckContext, first: tuple[Slot, Exchange, int, int]) -> Hit | None:
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
    description=(
        "User input becomes part of a template's source (e.g. "
        "`render_template_string('Hello ' + request.args['name'])`), so the engine "
        "evaluates expressions an attacker writes. Proof is harmless arithmetic: "
        "`{{a*b}}` with random numbers came back as the product, the same numbers "
        "without delimiters did not, and a second product with fresh numbers came back "
        "too. Severity: critical when a third probe shows a Python engine without a "
        'sandbox (Jinja2 evaluating `"x".__class__.__name__`), because Jinja2\'s object '
        "model reaches `os` and runs commands; high when expressions are evaluated but "
        "that access was not shown (a sandbox or another engine). Probes: one per "
        "parameter or reflected path segment (at most 20), then 3 per hit (at most 3 "
        "hits); form and JSON bodies only with --active."
    ),
    remediation=(
        "Never build a template from user input. Pass values as context instead: "
        "`render_template_string('Hello {{ name }}', name=request.args['name'])` or, "
        "better, `render_template('hello.html', name=name)` with the template in a file. "
        "If users must supply templates, render them with "
        "`jinja2.sandbox.ImmutableSandboxedEnvironment` and a strict allow list, never "
        "with `app.jinja_env`."
    ),
    references=(
        "https://cwe.mitre.org/data/definitions/1336.html",
        "https://jinja.palletsprojects.com/en/stable/sandbox/",
    ),
)
async def template_injection(ctx: CheckContext) -> None:
    """Arithmetic in each candidate, then a three-step confirmation of each hit."""
    firsts = await gather_bounded(ctx, candidates(ctx), first_stage)
    hits = [f for f in firsts if f is not None][:MAX_CONFIRM]
    await fan_out(ctx, hits, _confirm_first)
