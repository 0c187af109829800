"""Error-based SQL injection: a quote breaks the query, balanced quotes mend it.

For each parameter (query and path, including the id- or slug-like segments of crawled paths
such as ``/items/42``, named ``path[N]``; form and JSON bodies only with --active):

1. baseline: the request with a benign value (the example, or ``test``/``1``);
2. ``value'`` (then ``value"`` when the single quote changed nothing): an error message
   (``data/errors.toml``) that the baseline does not show, or a 5xx where the baseline
   was not one;
3. for a database message or a bare 5xx, confirmation, which must restore the baseline
   (same status, no SQL error): ``value''`` (balanced quotes: a string literal closed and
   reopened), or for a numeric parameter ``value-0`` (SQL evaluates the arithmetic, a
   plain integer parser rejects it).

A database message plus a restoring confirmation is reported as certain; a database message
the confirmation does not mend is still evidence (firm). A bare 5xx is reported only when
three quotes fail again (odd quotes fail, even quotes do not), and then as tentative. The
message is found wherever the answer shows it: a JSON ``error``/``detail`` field, a plain-text
500, a Werkzeug debugger or Django technical 500 page (``checks/common/errors.py``).

The same quotes are evidence of other parsers: a template engine's error
(``ssti.template-error``: the value is part of a template's source) and an XML parser's
error (``xxe.parser-error``: the value is parsed as XML markup). The passive
``errors.verbose-error`` check reports the message itself; this check ties it to the input.

Besides parameters, the shared injection points (``checks/common/injection.py``) add the
target's own cookies and the ``User-Agent``, ``Referer`` and ``X-Forwarded-For`` headers of its
front page (apps store and look them up: tracking ids, visit logs), at most ``MAX_EXTRA`` (3),
cookies first; the headers only when one screening request with a quote in all three breaks
the page (a new database error or a 5xx). The finding names them ``cookie:NAME`` /
``header:NAME``.

Bound: at most ``MAX_SLOTS`` (10) parameters (of which at most ``MAX_SEGMENTS`` path
segments) plus ``MAX_EXTRA`` (3) cookies or headers (and 1 screening request), 2 quote
probes each after the baseline (the crawled page itself for a path segment, so usually
cached), and up to 3 more to confirm a database error or a 5xx: at most 6 requests each, 79
in all.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl, urlsplit

from apigrade import knowledge, rx
from apigrade.checks.common.errors import ErrorMatch, exchange_errors, find_errors, new_errors
from apigrade.checks.common.errors import plain_text as _plain_text
from apigrade.checks.common.fanout import fan_out
from apigrade.checks.common.injection import InjectionPoint, header_points, points
from apigrade.checks.common.slots import Slot, get_endpoints, is_numeric, slots
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

MAX_SLOTS = 10
MAX_SEGMENTS = 3  # of MAX_SLOTS, kept for id- or slug-like path segments
MAX_EXTRA = 3  # cookies, then headers, besides MAX_SLOTS
EXTRA_HEADERS = ("User-Agent", "Referer", "X-Forwarded-For")
#: cookies a framework signs or looks up itself (never spliced into SQL by the app)
FRAMEWORK_COOKIES = frozenset({
    "session", "sessionid", "csrftoken", "csrf_token", "_csrf", "xsrf-token", "remember_token",
    "jsessionid", "phpsessid", "asp.net_sessionid", "laravel_session",
})  # fmt: skip
MAX_TEXT = 200_000
QUOTES = ("'", '"')
CHECK: Final = "sqli.error-based"
TEMPLATE_KIND = "ssti.template-error"
XML_KIND = "xxe.parser-error"

finding_kind(
    id="ssti.template-error",
    parent=(CHECK, "ssti.template-injection"),
    title="Template engine error caused by a parameter (template injection)",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=1336,
    owasp="API8:2023",
)
finding_kind(
    id="xxe.parser-error",
    parent=CHECK,
    title="XML parser error caused by a parameter",
    category="input-validation",
    severity=Severity.MEDIUM,
    confidence=Confidence.FIRM,
    cwe=611,
    owasp="API8:2023",
)


def _sql_errors() -> tuple[knowledge.ErrorSign, ...]:
    """Database error signatures (``data/errors.toml``, kind ``database``): driver
    exception names and the engines' own messages."""
    return knowledge.db_errors(CHECK)


_sql_errors()  # read and validated at import: a bad table fails the build


def sql_error(text: str) -> tuple[str, str] | None:
    """(engine, matched text) of the first SQL error signature in a body."""
    text = text[:MAX_TEXT]
    plain = _plain_text(text, "html" if text.lstrip()[:1] == "<" else "")
    found = find_errors(plain, CHECK, ("database",))
    return (found[0].name, found[0].excerpt) if found else None


# -- where to inject --------------------------------------------------------------
_LIKELY = ("id", "user_id", "uid", "name", "q", "search", "query", "username", "email",
           "category", "sort", "order", "filter", "type", "page", "item", "product")  # fmt: skip


def _param(slot: Slot) -> Param | None:
    return next((p for p in slot.endpoint.params if p.name == slot.name), None)


def numeric(slot: Slot) -> bool:
    param = _param(slot)
    return is_numeric(param.type if param else None, slot.example)


def value_of(slot: Slot) -> str:
    """The benign value the payloads extend."""
    if slot.example:
        return slot.example
    param = _param(slot)
    return "1" if param is not None and param.type in ("integer", "number") else "test"


_ID_SEGMENT = rx.compile(
    r"^(?:\d{1,19}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-f]{24}|[a-z0-9]+(?:[-_][a-z0-9]+)+)$"
)
_ASSET = rx.compile(r"\.[A-Za-z0-9]{1,5}$")


def path_segments(ctx: CheckContext) -> list[Slot]:
    """Id- or slug-like segments of crawled paths (``/items/42``, ``/posts/hello-world``),
    one per path shape, as ``path[N]`` slots (N counts segments from 0)."""
    out: list[Slot] = []
    seen: set[tuple[str, ...]] = set()
    for ep in get_endpoints(ctx):
        if "{" in ep.url or ep.params_in("path"):
            continue
        parts = urlsplit(ep.url).path.split("/")
        for i in range(len(parts) - 1, 0, -1):
            seg = parts[i]
            if not _ID_SEGMENT.match(seg) or _ASSET.search(seg):
                continue
            shape = (*parts[:i], "*", *parts[i + 1 :])
            if shape in seen:
                break
            seen.add(shape)
            name = f"path[{i - 1}]"
            templ = "/".join((*parts[:i], "{" + name + "}", *parts[i + 1 :]))
            prefix = ep.url[: len(ep.url) - len(urlsplit(ep.url).path)]
            kind = "integer" if seg.isdigit() else "string"
            endpoint = Endpoint(url=prefix + templ, params=(*ep.params, Param(name, "path", kind,
                                example=seg)), source=ep.source)  # fmt: skip
            out.append(Slot(endpoint=endpoint, name=name, location="path", example=seg))
            break  # the last id-like segment of a path
    return out


def _used(ctx: CheckContext) -> set[str]:
    """Query values that the crawled pages show back (reflected, so the app reads them)."""
    out: set[str] = set()
    for ex in ctx.exchanges:
        query = urlsplit(ex.url).query
        if not query or ex.status >= 400:
            continue
        text = ex.text[:MAX_TEXT]
        out.update(v for _, v in parse_qsl(query) if len(v) >= 3 and v in text)
    return out


def candidates(ctx: CheckContext) -> list[Slot]:
    """Parameters to try, at most MAX_SLOTS (path segments last): likely names first, then
    parameters whose value is numeric or shown back in the crawled page."""
    methods = ("GET", "POST") if ctx.active else ("GET",)
    locations = ("query", "path", "form", "body") if ctx.active else ("query", "path")
    found = list(slots(get_endpoints(ctx, methods), locations))
    used = _used(ctx)

    def rank(slot: Slot) -> tuple[int, int]:
        name = slot.name.lower()
        likely = _LIKELY.index(name) if name in _LIKELY else len(_LIKELY)
        evident = numeric(slot) or (slot.example is not None and slot.example in used)
        return likely, 0 if evident else 1

    segments = path_segments(ctx)
    reserved = segments[:MAX_SEGMENTS]
    return sorted(found, key=rank)[: MAX_SLOTS - len(reserved)] + reserved


async def extra_points(ctx: CheckContext) -> list[Slot]:
    """The target's own cookies (not the framework's session and CSRF cookies), then the
    front page's stored-and-looked-up headers that a screening request (a quote in all of
    them at once) showed to break something."""
    own = [p for p in points(ctx, ("cookie",)) if p.name.lower() not in FRAMEWORK_COOKIES]
    cookies: list[Slot] = list(own[:MAX_EXTRA])
    pts = header_points(ctx)
    headers: list[Slot] = [
        p for p in pts if p.endpoint == pts[0].endpoint and p.name in EXTRA_HEADERS
    ]
    if len(cookies) >= MAX_EXTRA or not headers or (url := headers[0].baseline_url()) is None:
        return cookies
    base = await ctx.get(url)  # the crawled front page: cached
    bad = await ctx.send(Probe(url=url, headers=tuple((p.name, "test'") for p in headers)))
    if base is None or bad is None or base.status >= 500:
        return cookies
    broke = any(e.kind == "database" for e in new_errors(bad, base, CHECK)) or bad.status >= 500
    return (cookies + (headers if broke else []))[:MAX_EXTRA]


# -- probing ----------------------------------------------------------------------
async def _send(ctx: CheckContext, slot: Slot, value: str) -> Exchange | None:
    probe = slot.probe(value)
    return None if probe is None else await ctx.send(probe)


def _db_error(ex: Exchange) -> ErrorMatch | None:
    found = exchange_errors(ex, CHECK, ("database",))
    return found[0] if found else None


def _restores(ex: Exchange | None, base: Exchange) -> bool:
    return ex is not None and ex.status == base.status and _db_error(ex) is None


async def test_slot(ctx: CheckContext, slot: Slot) -> Hit | None:
    """Baseline, quote, confirmation; None unless the differential holds."""
    value = value_of(slot)
    base = await _send(ctx, slot, value)
    if base is None or base.status >= 500 or _db_error(base):
        return None  # an answer that already fails tells nothing
    for quote in QUOTES:
        bad = await _send(ctx, slot, value + quote)
        if bad is None:
            return None
        fresh = new_errors(bad, base, CHECK)
        err = next((e for e in fresh if e.kind == "database"), None)
        if err is None and fresh:
            return _parser_hit(slot, value, quote, bad, base, fresh[0])
        if err is None and bad.status < 500:
            continue
        fixes = [value + quote * 2] + ([value + "-0"] if numeric(slot) else [])
        for fix in fixes:
            if _restores(await _send(ctx, slot, fix), base):
                return await _hit(ctx, slot, value, quote, fix, bad, base, err)
        if err is not None:  # the message alone: the quote reached the query
            return _unmended_hit(slot, value, quote, fixes, bad, base, err)
        return None  # the quote broke something the confirmation did not mend
    return None


def _label(slot: Slot) -> str:
    if isinstance(slot, InjectionPoint) and slot.kind in ("header", "cookie"):
        return slot.label
    if slot.name.startswith("path["):
        return f"path segment {slot.name} ({slot.example!r})"
    return f"{slot.location} parameter {slot.name!r}"


def _parameter(slot: Slot) -> str:
    """The finding's parameter: the name, ``cookie:NAME`` or ``header:NAME``."""
    if isinstance(slot, InjectionPoint) and slot.kind in ("header", "cookie"):
        return f"{slot.kind}:{slot.name}"
    return slot.name


def _unmended_hit(
    slot: Slot, value: str, quote: str, fixes: list[str], bad: Exchange, base: Exchange,
    err: ErrorMatch,
) -> Hit:  # fmt: skip
    tried = ", ".join(repr(f) for f in fixes)
    evidence = (f"{value!r} -> {base.status}, no error; {value + quote!r} -> {bad.status} with a "
                f"{err.name} error ({err.excerpt[:200]}); {tried} did not restore the answer")  # fmt: skip
    return Hit(
        url=slot.baseline_url() or bad.url,
        method=slot.method,
        parameter=_parameter(slot),
        evidence=f"{_label(slot)}: {evidence}",
        confidence=Confidence.FIRM,
    )


def _parser_hit(
    slot: Slot, value: str, quote: str, bad: Exchange, base: Exchange, err: ErrorMatch
) -> Hit:
    """A template engine's or XML parser's error that the quote caused."""
    what = "template engine" if err.kind == "template" else "XML parser"
    evidence = (f"{value!r} -> {base.status}, no error; {value + quote!r} -> {bad.status} with "
                f"a {what} error from {err.name} ({err.excerpt[:200]})")  # fmt: skip
    return Hit(
        url=slot.baseline_url() or bad.url,
        method=slot.method,
        parameter=_parameter(slot),
        evidence=f"{_label(slot)}: {evidence}",
        check=TEMPLATE_KIND if err.kind == "template" else XML_KIND,
    )


async def _hit(
    ctx: CheckContext,
    slot: Slot,
    value: str,
    quote: str,
    fix: str,
    bad: Exchange,
    base: Exchange,
    err: ErrorMatch | None,
) -> Hit | None:
    steps = f"{value!r} -> {base.status}; {value + quote!r} -> {bad.status}"
    if err is not None:
        evidence = (
            f"{steps} with a {err.name} error ({err.excerpt[:200]}); {fix!r} -> {base.status}, "
            "no error"
        )
        confidence = Confidence.CERTAIN
    else:
        odd = await _send(ctx, slot, value + quote * 3)
        if odd is None or odd.status < 500:
            return None
        evidence = (f"{steps}; {fix!r} -> {base.status}; {value + quote * 3!r} -> {odd.status} "
                    "(odd quotes fail, balanced quotes do not; no database message)")  # fmt: skip
        confidence = Confidence.TENTATIVE
    return Hit(
        url=slot.baseline_url() or bad.url,
        method=slot.method,
        parameter=_parameter(slot),
        evidence=f"{_label(slot)}: {evidence}",
        confidence=confidence,
    )


@active(
    id="sqli.error-based",
    title="SQL injection",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=89,
    owasp="API8:2023",
)
async def sql_injection(ctx: CheckContext) -> None:
    """One differential per candidate parameter, all parameters concurrently."""
    await fan_out(ctx, candidates(ctx) + await extra_points(ctx), test_slot)
