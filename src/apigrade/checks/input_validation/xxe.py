"""XML external entities (CWE-611), with ``--active`` only.

Where: endpoints whose spec says they take ``application/xml``/``text/xml`` first, then the
other body-taking endpoints (POST/PUT/PATCH from a spec or a form, and crawled URLs that
answered a GET with 405 and an ``Allow`` naming POST or PUT): the first probe itself shows
whether the endpoint parses XML. Parameters named like XML (``xml``, ``*_xml``) or with an
example starting with ``<`` get the same documents as their value.

Probes (never any host but the target and the scanner's own receiver):

1. **internal entities**: a DTD declaring ``a`` = ``<tag>`` and ``b`` = ``<digits>``; the
   document uses ``&a;&b;``. Only a parser that expands entities declared in the request
   produces ``<tag><digits>`` (the payload never contains it): ``xxe.entity-expansion``,
   low (the standard library's expat does this and loads no external entity).
2. **parameter entities**, when 1 expanded: ``%p;`` declares the general entity the
   document uses. Parameter entities are the vehicle of blind XXE; a parser expanding them
   resolves entities fully (lxml ``resolve_entities=True``): the finding becomes high.
3. **out of band**, when the target runs on this machine and the endpoint parses XML (1
   expanded, or its answer shows an XML parser's error, ``data/errors.toml``, or the spec
   says XML): one document with an external general entity and one with an external
   parameter entity, both ``SYSTEM "http://127.0.0.1:PORT/apigrade-..."`` on the engine's
   loopback receiver. The receiver seeing the path proves the parser loads external
   entities: ``xxe.external-entity``, high, certain. No local file is ever named.

Bound: at most ``MAX_TARGETS`` (6) endpoints or parameters, 4 requests each (24), plus at
most ``LATE_WAIT`` (1 s) waiting for late fetches.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from xml.sax.saxutils import escape

from apigrade import rx
from apigrade.checks.common.errors import exchange_errors
from apigrade.checks.common.injection import points
from apigrade.checks.common.local import runs_here
from apigrade.checks.common.slots import Slot, build_url, get_endpoints, token
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.discovery.model import Endpoint
from apigrade.engine.http import Exchange, Probe
from apigrade.model import Confidence, Severity

if TYPE_CHECKING:
    from apigrade.engine.receiver import Receiver

CHECK: Final = "xxe.external-entity"
EXPANSION = "xxe.entity-expansion"
MAX_TARGETS = 6
MAX_FIELDS = 8  # body parameters given an element of their own
LATE_WAIT = 1.0
XML_TYPE = "application/xml"
_BODY_METHODS = ("POST", "PUT", "PATCH")
_ELEMENT = rx.compile(r"^[A-Za-z_][\w.-]{0,63}$")
_XML_NAME = rx.compile(r"(?i)(?:^|[_-])xml(?:$|[_-])|^(?:xml|soap|svg)\w{0,20}$|xmldata|payload")

finding_kind(
    id=EXPANSION,
    parent=CHECK,
    title="XML parser expands entities declared in the request (DTD processing on)",
    category="input-validation",
    severity=Severity.LOW,
    confidence=Confidence.FIRM,
    cwe=611,
    owasp="API8:2023",
)


@dataclass(frozen=True)
class Target:
    """Where an XML document goes: a whole request body, or one parameter (``slot``)."""

    endpoint: Endpoint
    slot: Slot | None = None
    declared: bool = False  # the spec says the body is XML

    @property
    def label(self) -> str:
        if self.slot is not None:
            return f"{self.slot.location} parameter {self.slot.name!r}"  # query, form, body
        return f"{self.endpoint.method.upper()} body"

    def url(self) -> str | None:
        return self.slot.baseline_url() if self.slot else build_url(self.endpoint, {})

    def probe(self, doc: str) -> Probe | None:
        if self.slot is not None:
            return self.slot.probe(doc)
        url = build_url(self.endpoint, {})
        if url is None:
            return None
        ctype = self.endpoint.content_type if self.declared else None
        return Probe(url=url, method=self.endpoint.method.upper(), body=doc.encode(),
                     headers=(("Content-Type", ctype or XML_TYPE),),
                     follow_redirects=False)  # fmt: skip


# -- where ---------------------------------------------------------------------------------


def _is_xml(ctype: str | None) -> bool:
    base = (ctype or "").split(";")[0].strip().lower()
    return base in ("application/xml", "text/xml") or base.endswith("+xml")


def _method_not_allowed(ctx: CheckContext) -> list[Endpoint]:
    """Crawled URLs that refused GET with 405 and allow POST or PUT."""
    out: dict[str, Endpoint] = {}
    for ex in list(ctx.exchanges):
        if ex.status != 405 or ex.probe.method != "GET" or ex.probe.raw_target is not None:
            continue
        allow = (ex.response.header("allow") or "").upper()
        url = ex.probe.url.split("?", 1)[0]
        method = next((m for m in _BODY_METHODS if m in allow), None)
        if method and ctx.target.in_scope(url):
            out.setdefault(url, Endpoint(url=url, method=method, source="crawl"))
    return list(out.values())


def candidates(ctx: CheckContext) -> list[Target]:
    """XML endpoints first, then other body endpoints and XML-like parameters."""
    declared, bodies, params = [], [], []
    seen: set[tuple[str, str]] = set()
    for ep in [*get_endpoints(ctx, _BODY_METHODS), *_method_not_allowed(ctx)]:
        key = (ep.method.upper(), ep.url)
        if key in seen or ep.graphql:
            continue
        seen.add(key)
        if _is_xml(ep.content_type):
            declared.append(Target(ep, declared=True))
        elif not ep.params_in("form"):  # an HTML form posts form data, not XML
            bodies.append(Target(ep))
    for slot in points(ctx, ("query", "form", "body")):
        example = (slot.example or "").lstrip()
        if _XML_NAME.search(slot.name) or example.startswith("<"):
            params.append(Target(slot.endpoint, slot=slot))
    return [*declared, *params, *bodies][:MAX_TARGETS]


# -- documents -----------------------------------------------------------------------------


#: child elements apps commonly read (``root.find("name").text``) when no field is known
COMMON_FIELDS = ("name", "username", "email", "title", "message", "data", "search", "value")


def _body(target: Target, ref: str) -> str:
    """``<root>`` with the entity reference in it and in one element per body field (the
    documented ones, else ``COMMON_FIELDS``)."""
    names = [p.name for p in target.endpoint.params_in("body") if _ELEMENT.match(p.name)]
    names = list(dict.fromkeys(names[:MAX_FIELDS] or COMMON_FIELDS))
    inner = "".join(f"<{n}>{ref}</{n}>" for n in names)
    return f"<root>{inner}{ref}</root>"


@dataclass(frozen=True)
class Split:
    """A marker split in two: ``head`` + ``tail`` appear together only once expanded."""

    head: str
    tail: str

    @staticmethod
    def new() -> Split:
        return Split("apg" + token(6), str(100_000 + secrets.randbelow(900_000)))

    @property
    def joined(self) -> str:
        return self.head + self.tail


def internal_doc(target: Target, m: Split) -> str:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE root [<!ENTITY a "{m.head}"><!ENTITY b "{m.tail}">]>'
        + _body(target, "&a;&b;")
    )


def parameter_doc(target: Target, m: Split) -> str:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE root [<!ENTITY % p "<!ENTITY c \'{m.head}\'>"> %p; '
        f'<!ENTITY d "{m.tail}">]>' + _body(target, "&c;&d;")
    )


def external_general_doc(target: Target, url: str) -> str:
    return f'<?xml version="1.0"?>\n<!DOCTYPE root [<!ENTITY e SYSTEM "{escape(url)}">]>' + _body(
        target, "&e;"
    )


def external_parameter_doc(target: Target, url: str) -> str:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE root [<!ENTITY % x SYSTEM "{escape(url)}"> %x;]>'
        + _body(target, "")
    )


# -- probing -------------------------------------------------------------------------------


async def _send(ctx: CheckContext, target: Target, doc: str) -> Exchange | None:
    probe = target.probe(doc)
    return None if probe is None else await ctx.send(probe)


@dataclass
class Outcome:
    """What the in-band probes learned about one target."""

    target: Target
    parses: bool = False  # the answer showed expansion or an XML parser error
    hit: Hit | None = None


def _excerpt(text: str, needle: str) -> str:
    at = text.find(needle)
    return " ".join(text[max(0, at - 40) : at + len(needle) + 20].split())


async def in_band(ctx: CheckContext, target: Target) -> Outcome:
    """Internal entities, then parameter entities when those expand."""
    m = Split.new()
    ex = await _send(ctx, target, internal_doc(target, m))
    out = Outcome(target, parses=target.declared)
    if ex is None:
        return out
    if m.joined not in ex.text:
        errors = exchange_errors(ex, CHECK, ("xml",))
        out.parses = out.parses or bool(errors)
        return out
    out.parses = True
    steps = [
        f'<!ENTITY a "{m.head}"><!ENTITY b "{m.tail}"> and &a;&b; -> {ex.status}, the answer '
        f"shows {m.joined!r}: ...{_excerpt(ex.text, m.joined)}..."
    ]
    p = Split.new()
    pex = await _send(ctx, target, parameter_doc(target, p))
    param = pex is not None and p.joined in pex.text
    steps.append(
        "a parameter entity (%p;) declaring the entity used -> "
        + (f"{p.joined!r} expanded too" if param else "not expanded")
    )
    out.hit = Hit(
        url=target.url() or ex.url,
        method=ex.probe.method,
        parameter=target.slot.name if target.slot else None,
        check=EXPANSION,
        evidence=f"{target.label}: " + "; ".join(steps),
    )
    if param:
        out.hit.severity = Severity.HIGH
        out.hit.title = "XML parser resolves parameter entities declared in the request"
    return out


async def out_of_band(ctx: CheckContext, targets: list[Target]) -> list[Hit]:
    """External general and parameter entities on the scanner's loopback receiver."""
    if not targets or not runs_here(ctx):
        return []
    async with ctx.receiver() as receiver:
        if receiver is None:
            return []
        tag = f"apigrade-xxe-{token()}"
        sent = await asyncio.gather(*(_external(ctx, receiver, t, f"{tag}-{i}")
                                      for i, t in enumerate(targets)))  # fmt: skip
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LATE_WAIT

        def fetched(i: int) -> bool:
            return receiver.seen(f"{tag}-{i}-ge") or receiver.seen(f"{tag}-{i}-pe")

        while loop.time() < deadline and not all(fetched(i) for i in range(len(targets))):
            await asyncio.sleep(0.05)
        hits = []
        for i, (target, ex) in enumerate(zip(targets, sent, strict=True)):
            kinds = [k for k in ("ge", "pe") if receiver.seen(f"{tag}-{i}-{k}")]
            if not kinds:
                continue
            what = " and ".join(
                {"ge": "an external general entity", "pe": "an external parameter entity"}[k]
                for k in kinds
            )
            hits.append(Hit(
                url=target.url() or (ex.url if ex else target.endpoint.url),
                method=target.endpoint.method.upper() if not target.slot else target.slot.method,
                parameter=target.slot.name if target.slot else None,
                evidence=(
                    f"{target.label}: {what} SYSTEM {receiver.url(f'{tag}-{i}-{kinds[0]}')!r} "
                    "(the scanner's own receiver on 127.0.0.1) was fetched by the server while "
                    "parsing the document"
                ),
            ))  # fmt: skip
        return hits


async def _external(
    ctx: CheckContext, receiver: Receiver, target: Target, path: str
) -> Exchange | None:
    first = await _send(ctx, target, external_general_doc(target, receiver.url(f"{path}-ge")))
    if receiver.seen(f"{path}-ge"):
        return first
    second = await _send(ctx, target, external_parameter_doc(target, receiver.url(f"{path}-pe")))
    return second or first


@active(
    id=CHECK,
    title="XML external entities (XXE): the XML parser loads external entities",
    category="input-validation",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=611,
    owasp="API8:2023",
)
async def xxe(ctx: CheckContext) -> None:
    """In-band entity probes on every candidate, then out-of-band ones where XML is parsed."""
    if not ctx.active:
        return
    outcomes = await asyncio.gather(*(in_band(ctx, t) for t in candidates(ctx)))
    for out in outcomes:
        if out.hit is not None:
            ctx.report(out.hit)
    for hit in await out_of_band(ctx, [o.target for o in outcomes if o.parses]):
        ctx.report(hit)
