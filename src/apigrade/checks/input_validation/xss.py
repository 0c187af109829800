"""Cross-site scripting: a value that comes back unescaped in an executable HTML context.

Reflected (``xss.reflected``), on every injection point of ``checks/common/injection.py``
(query and path parameters, GET form fields, path segments, the path of a page that does not
exist, selected headers and the target's cookies; POST forms and JSON bodies with --active):

1. the shared reflection probe (one unique marker per point) tells which points come back in
   a ``text/html`` page; JSON, ``text/plain`` and other types are never considered (a browser
   does not render them as HTML);
2. the page is parsed (stdlib ``html.parser`` with the browser's raw-text rules, in the
   analysis pool) to find the marker's context: HTML text (JSON served as ``text/html``
   included), an attribute value (double, single or unquoted), inside ``<script>`` (in code,
   a string or a template literal), raw text (``<textarea>``, ``<title>``) or a comment;
3. one payload per context, built from a fresh marker and the context's breaking
   characters: ``<apg…>`` in text, ``</textarea><apg…>`` in raw text, ``--><apg…>`` in a
   comment, ``" apg…=1 x="`` in an attribute, ``javascript:apg…(1)`` at the start of a URL
   attribute (``href``, ``src``, ``action``: autoescaping does not stop it),
   ``</script><apg…>`` then ``"-apg…-"`` in a script. It is reported only when the parsed
   answer shows the marker as a new element, a new attribute, a ``javascript:`` URL or a
   bare word of script code: never when it comes back escaped.

Stored (``xss.stored``, --active only): each POST form or JSON body endpoint gets one request
with a tag marker in every string field; the target's pages are then read again and the
marker found as a real element on one of them is reported.

Bound: the reflection probes are shared (``injection.MAX_REFLECTION_REQUESTS``); then at most
``MAX_POINTS`` (10) reflected points, ``MAX_CONTEXTS`` (3) contexts each, at most 2 requests
per context: 60 requests (one per context in practice). Stored: at most ``MAX_STORED`` (3) submissions and ``MAX_PAGES`` (5)
pages read back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from apigrade.checks.common import html_context
from apigrade.checks.common.injection import (
    InjectionPoint,
    Reflection,
    points,
    reflect,
    worth_probing,
)
from apigrade.checks.common.slots import build_url, default_value, get_endpoints, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.discovery.model import Endpoint
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

MAX_POINTS = 10
MAX_CONTEXTS = 3
MAX_STORED = 3
MAX_PAGES = 5
CHECK = "xss.reflected"
STORED = "xss.stored"
HTML_TYPES = ("text/html", "application/xhtml+xml")
_CONTEXT_ORDER = ("text", "url", "attr", "script", "rcdata", "comment")

finding_kind(
    id=STORED,
    parent=CHECK,
    title="Stored cross-site scripting",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=79,
    owasp="API8:2023",
)


def _tok() -> str:
    return "apg" + token(9)


@dataclass(frozen=True)
class Attempt:
    """A payload for one context and how its proof shows (``tag``, ``attr`` or ``code``)."""

    payload: str
    token: str
    how: str
    what: str  # the context, for the evidence


def attempts(context: str) -> list[Attempt]:
    """The payloads that break out of ``context``, best first."""
    t = _tok()
    kind, _, rest = context.partition(":")
    if kind == "text":
        return [Attempt(f"<{t}>", t, "tag", "HTML text")]
    if kind == "rcdata":
        return [Attempt(f"</{rest}><{t}>", t, "tag", f"<{rest}> text")]
    if kind == "comment":
        return [Attempt(f"--><{t}>", t, "tag", "an HTML comment")]
    if kind == "attr":
        quote, _, name = rest.partition(":")
        q = "" if quote == "-" else quote
        return [Attempt(f"x{q} {t}=1 x={q}x", t, "attr", f"the {name!r} attribute value")]
    if kind == "url":
        name = rest.partition(":")[2]
        return [Attempt(f"javascript:{t}(1)", t, "url", f"the start of the {name!r} URL")]
    if kind == "script":
        out = [Attempt(f"</script><{t}>", t, "tag", "a <script> block")]
        t2 = _tok()
        if rest in ("'", '"'):
            out.append(Attempt(f"{rest}-{t2}-{rest}", t2, "code", f"a {rest}-quoted script string"))
        elif rest == "`":
            out.append(Attempt("${" + t2 + "}", t2, "code", "a script template literal"))
        elif rest == "code":
            out.append(Attempt(f"1-{t2}-1", t2, "code", "script code"))
        return out
    return []


def _pick(contexts: Sequence[str]) -> list[str]:
    """At most MAX_CONTEXTS contexts, the likeliest to execute first, one per kind."""
    kinds: dict[str, str] = {}
    for c in contexts:
        kinds.setdefault(c.partition(":")[0], c)
    ranked = sorted(kinds.values(), key=lambda c: _CONTEXT_ORDER.index(c.partition(":")[0]))
    return ranked[:MAX_CONTEXTS]


def is_html(ex: Exchange | None) -> bool:
    return ex is not None and ex.response.content_type in HTML_TYPES


async def _parse_contexts(ctx: CheckContext, ex: Exchange, marker: str) -> list[str]:
    found = await ctx.offload(html_context.contexts, ex.text, marker)
    return found or []


async def _executes(ctx: CheckContext, ex: Exchange, attempt: Attempt) -> bool:
    if attempt.token not in ex.text:
        return False  # cheap: not there at all
    return bool(await ctx.offload(html_context.executes, ex.text, attempt.token, attempt.how))


def _excerpt(text: str, tok: str) -> str:
    at = text.find(tok)
    return " ".join(text[max(0, at - 40) : at + len(tok) + 40].split()) if at >= 0 else ""


def _severity(point: InjectionPoint) -> Severity | None:
    """Headers and cookies are set by the victim's browser, not by a link: medium."""
    return Severity.MEDIUM if point.kind in ("header", "cookie") else None


async def test_point(ctx: CheckContext, point: InjectionPoint, seen: Reflection) -> Hit | None:
    """Contexts of the marker, then one payload per context; the first that executes."""
    if seen.exchange is None or not is_html(seen.exchange):
        return None
    found = await _parse_contexts(ctx, seen.exchange, seen.marker)
    for context in _pick(found):
        for attempt in attempts(context):
            probe = point.probe(attempt.payload)
            ex = None if probe is None else await ctx.send(probe)
            if ex is None or not is_html(ex) or not await _executes(ctx, ex, attempt):
                continue
            json_page = ex.text.lstrip()[:1] in ("{", "[")
            where = "JSON served as text/html" if json_page else attempt.what
            shown = {"tag": f"an <{attempt.token}> element", "attr": f"a {attempt.token!r} "
                     "attribute", "code": f"the bare word {attempt.token!r} in script code",
                     "url": "a javascript: URL"}  # fmt: skip
            return Hit(
                url=point.page,
                method=point.method,
                parameter=point.parameter,
                evidence=(
                    f"{point.label}: {attempt.payload!r} in {where} came back unescaped "
                    f"as {shown[attempt.how]} ({ex.status}, {ex.response.content_type}): "
                    f"…{_excerpt(ex.text, attempt.token)}…"
                ),  # fmt: skip
                severity=_severity(point),
                # a javascript: link runs when it is followed (clicked), not on page load
                confidence=Confidence.FIRM if attempt.how == "url" else None,
            )
    return None


@active(
    id=CHECK,
    title="Reflected cross-site scripting",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=79,
    owasp="API8:2023",
)
async def reflected_xss(ctx: CheckContext) -> None:
    """Reflection first (shared), then context payloads on the points that reflect in HTML."""
    pts = points(ctx)
    seen = await reflect(ctx, pts)
    # a Host header a browser cannot choose (servers refuse "<" in it anyway)
    pts = [p for p in pts if not (p.kind == "header" and p.name == "Host")]
    chosen = [p for p in worth_probing(pts, seen)
              if seen[p.key].reflected and is_html(seen[p.key].exchange)][:MAX_POINTS]  # fmt: skip
    hits = await asyncio.gather(*(test_point(ctx, p, seen[p.key]) for p in chosen))
    reported: set[tuple[str, str | None]] = set()
    for hit in hits:
        if hit is not None and (hit.url, hit.parameter) not in reported:
            reported.add((hit.url, hit.parameter))
            ctx.report(hit)
    if ctx.active:
        for hit in await stored(ctx):
            ctx.report(hit)


# -- stored (--active) ----------------------------------------------------------------
def _submission(ep_url: str, ep: Endpoint, tok: str) -> Probe | None:
    """A POST of the endpoint's form or JSON body with ``<tok>`` in every text field."""
    location = "form" if ep.params_in("form") else "body"
    params = ep.params_in(location)
    if not params:
        return None
    fields: dict[str, object] = {}
    for p in params:
        string = p.type in (None, "string")
        fields[p.name] = f"<{tok}>" if string else default_value(p)
        if not string and p.type == "integer" and str(fields[p.name]).isdigit():
            fields[p.name] = int(str(fields[p.name]))
    if location == "form":
        body, ctype = urlencode({k: str(v) for k, v in fields.items()}).encode(), (
            "application/x-www-form-urlencoded")  # fmt: skip
    else:
        body, ctype = json.dumps(fields).encode(), "application/json"
    return Probe(url=ep_url, method="POST", headers=(("Content-Type", ctype),), body=body,
                 follow_redirects=False)  # fmt: skip


async def stored(ctx: CheckContext) -> list[Hit]:
    """Submit a tag marker through each create endpoint, then read the pages back."""
    posted: list[tuple[str, str]] = []  # (endpoint URL, token)
    for ep in get_endpoints(ctx, ("POST",)):
        if len(posted) >= MAX_STORED:
            break
        url = build_url(ep, {})
        tok = _tok()
        probe = None if url is None else _submission(url, ep, tok)
        if probe is None:
            continue
        ex = await ctx.send(probe)
        if ex is not None and ex.status < 400:
            posted.append((url or ep.url, tok))
    if not posted:
        return []
    pages = [ex.url for ex in ctx.exchanges if is_html(ex) and ex.status == 200
             and ex.probe.method.upper() == "GET" and not ex.probe.headers
             and ex.probe.raw_target is None and "apg" not in ex.url]  # fmt: skip
    hits: list[Hit] = []
    done: set[str] = set()
    for page in list(dict.fromkeys(pages))[:MAX_PAGES]:
        # a fresh read (an identical probe would get the engine's cached answer)
        ex = await ctx.send(Probe(url=page, headers=(("Cache-Control", "no-cache"),),
                                  follow_redirects=False))  # fmt: skip
        if ex is None or not is_html(ex):
            continue
        for url, tok in posted:
            if url in done or tok not in ex.text:
                continue
            if await ctx.offload(html_context.executes, ex.text, tok, "tag"):
                done.add(url)
                hits.append(Hit(url=url, method="POST", check=STORED,
                                evidence=(f"POST {url} with <{tok}> in every text field; GET "
                                          f"{page} -> {ex.status} shows it as an element: "
                                          f"…{_excerpt(ex.text, tok)}…")))  # fmt: skip
    return hits
