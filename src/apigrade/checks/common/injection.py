"""One injection-point model for every injection check: where a value reaches the app.

An :class:`InjectionPoint` is a :class:`~apigrade.checks.common.slots.Slot` (so code written
for slots keeps working) that also knows request headers and cookies. ``points(ctx)`` lists
them for a scan:

* ``query`` / ``path`` / ``graphql``: discovered and spec-described parameters, including the
  fields of GET forms found in crawled pages (discovery turns forms into endpoints);
* ``segment``: the last path segment of a crawled page (``/greet/ada`` -> ``/greet/<v>``);
* ``missing``: a path that does not exist, at the root and under known prefixes
  (``/<v>``, ``/known/prefix/<v>``): a custom 404 handler rendering the path is a classic
  template-injection and XSS sink;
* ``header``: ``Host``, ``X-Forwarded-Host``, ``X-Forwarded-For``, ``User-Agent``,
  ``Referer``, ``X-Host``, ``X-Original-URL`` and ``isAdmin`` on the target's first pages;
  a ``Host`` probe still connects to the target (the engine connects to the URL's host and
  only the header changes);
* ``cookie``: the target's own cookie names (from its ``Set-Cookie`` headers), the user's
  ``-b`` cookies kept alongside;
* ``form`` / ``body``: POST form fields and JSON bodies, only with ``--active``.

Every probe goes to the target's origin; nothing is sent anywhere else.

**Selection by evidence.** ``reflect(ctx, points)`` sends one cheap probe per point with a
unique marker (``apg`` + random letters): all the string query parameters of one endpoint
share one request, the plain headers of one page share one (``Host`` and ``X-Original-URL``
each get their own, they change routing), and the cookies of one page share one. It tells
which points come back in the answer (reflected) or change its status. The results are
shared by all checks of a scan (each point is probed once per scan), and checks spend their
payloads on reflected points first, each with its own cap.

Bound: at most ``MAX_SEGMENTS`` (4) segment, ``MAX_MISSING`` (3) missing-path,
``MAX_HEADER_PAGES`` (2) pages of header points and ``MAX_COOKIES`` (4) cookies; at most
``MAX_REFLECTION_REQUESTS`` (30) reflection requests per scan, whatever checks ask.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from apigrade import rx
from apigrade.checks.common.slots import (
    Slot,
    build_body,
    build_url,
    get_endpoints,
    is_numeric,
    slots,
    token,
)
from apigrade.discovery.model import Endpoint, Param
from apigrade.engine.http import Exchange, Probe

if TYPE_CHECKING:
    from apigrade.checks.context import CheckContext

MAX_SEGMENTS = 4
MAX_MISSING = 3
MAX_HEADER_PAGES = 2
MAX_COOKIES = 4
MAX_REFLECTION_REQUESTS = 30

SEGMENT = "apigrade_segment"  # the template name of a last path segment
MISSING = "apigrade_missing"  # the template name of a path that does not exist
MISSING_EXAMPLE = "apigrade-not-found"

#: headers apps read, reflect or trust (auth hints); Host and X-Original-URL change routing
HEADERS = ("User-Agent", "Referer", "X-Forwarded-For", "X-Forwarded-Host", "X-Host", "isAdmin")
ROUTING_HEADERS = ("Host", "X-Original-URL")

ALL_KINDS = ("query", "path", "segment", "missing", "header", "cookie", "form", "body")
DEFAULT_KINDS = ("query", "path", "segment", "missing", "header", "cookie")

_SEGMENT_OK = rx.compile(r"^[A-Za-z0-9][\w.~-]{0,63}$")
_ASSET = rx.compile(r"\.(?:css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|woff2?|ttf|pdf|zip|txt|xml)$",
                    rx.I)  # fmt: skip
_PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/json", "")
_CTL = rx.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class InjectionPoint(Slot):
    """One place a value reaches the app; ``kind`` says which (see the module docstring).

    Header and cookie points carry the page they are sent to as ``endpoint``;
    ``cookie_base`` is the user's own Cookie header, kept beside the probed cookie.
    """

    kind: str = "query"
    cookie_base: str | None = None

    # -- identity and labels ----------------------------------------------------
    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.method, self.endpoint.url, self.name)

    @property
    def label(self) -> str:
        if self.kind == "segment":
            return f"path segment ({self.example!r})"
        if self.kind == "missing":
            return "the path of a page that does not exist"
        if self.kind in ("header", "cookie"):
            return f"{self.kind} {self.name!r}"
        return f"{self.location} parameter {self.name!r}"

    @property
    def parameter(self) -> str | None:
        """The finding's parameter: the name, or None for a path-shaped point."""
        if self.kind in ("segment", "missing"):
            return None
        if self.kind in ("header", "cookie"):
            return f"{self.kind}:{self.name}"
        return self.name

    @property
    def page(self) -> str:
        """The URL a finding names: the page itself, with example values."""
        return self.baseline_url() or self.endpoint.url

    # -- requests ---------------------------------------------------------------
    def probe(self, payload: str, *, encoded: bool = False) -> Probe | None:
        if self.location == "header":
            value = unquote(payload) if encoded else payload
            url = self.baseline_url()
            if url is None or _CTL.search(value):
                return None
            return Probe(url=url, headers=((self.name, value),), follow_redirects=False)
        if self.location == "cookie":
            value = unquote(payload) if encoded else payload
            url = self.baseline_url()
            if url is None or _CTL.search(value):
                return None
            return Probe(url=url, headers=(("Cookie", self.cookie_header({self.name: value})),),
                         follow_redirects=False)  # fmt: skip
        return super().probe(payload, encoded=encoded)

    def url(self, payload: str, *, encoded: bool = False) -> str | None:
        if self.location in ("header", "cookie"):
            return self.baseline_url()
        return super().url(payload, encoded=encoded)

    def cookie_header(self, values: dict[str, str]) -> str:
        """The user's cookies with ``values`` set (``;`` and ``,`` percent-encoded)."""
        pairs = []
        for piece in (self.cookie_base or "").split(";"):
            name = piece.partition("=")[0].strip()
            if name and name not in values:
                pairs.append(piece.strip())
        for name, value in values.items():
            pairs.append(f"{name}={value.replace(';', '%3B').replace(',', '%2C')}")
        return "; ".join(pairs)


# -- which points a scan has --------------------------------------------------------
def _param_of(point: Slot) -> Param | None:
    return next((p for p in point.endpoint.params if p.name == point.name), None)


def numeric(point: Slot) -> bool:
    param = _param_of(point)
    return is_numeric(param.type if param else None, point.example)


def from_slot(slot: Slot) -> InjectionPoint:
    if isinstance(slot, InjectionPoint):
        return slot
    kind = slot.location if slot.location in ALL_KINDS else "query"
    return InjectionPoint(endpoint=slot.endpoint, name=slot.name, location=slot.location,
                          example=slot.example, kind=kind)  # fmt: skip


def _pages(ctx: CheckContext) -> list[Exchange]:
    """Crawled, plain GET pages of the target that answered 200, first seen first: only
    discovered endpoints (and the target URL), so other checks' probes never add points."""
    known = {ep.url for ep in ctx.endpoints if ep.method.upper() == "GET" and "{" not in ep.url}
    known.add(ctx.target.url)
    seen: set[str] = set()
    out = []
    for ex in ctx.exchanges:
        p = ex.probe
        if (p.method.upper() != "GET" or p.raw_target is not None or p.headers or ex.status != 200
                or urlsplit(ex.url).query or ex.url in seen or not ctx.target.in_scope(ex.url)
                or ex.url not in known):  # fmt: skip
            continue
        seen.add(ex.url)
        out.append(ex)
    return out


def _template(url: str, path: str, name: str, example: str) -> Endpoint:
    prefix = url[: len(url) - len(urlsplit(url).path)]
    return Endpoint(url=prefix + path + "{" + name + "}", params=(Param(name, "path", "string",
                    example=example),), source="injection")  # fmt: skip


def segment_points(ctx: CheckContext) -> list[InjectionPoint]:
    """Last path segments of crawled pages, one per parent path; segments the page shows
    back first (``/greet/ada`` saying "ada")."""
    found: list[tuple[int, InjectionPoint]] = []
    parents: set[str] = set()
    bodies = {ex.url: ex for ex in _pages(ctx)}
    for ep in get_endpoints(ctx):
        if "{" in ep.url or ep.params_in("path") or ep.source == "injection":
            continue
        path = urlsplit(ep.url).path
        head, _, seg = path.rpartition("/")
        if not head or not _SEGMENT_OK.match(seg) or _ASSET.search(seg) or head in parents:
            continue
        ex = bodies.get(ep.url)
        if ex is None or ex.response.content_type not in _PAGE_TYPES:
            continue
        parents.add(head)
        point = InjectionPoint(endpoint=_template(ep.url, head + "/", SEGMENT, seg), name=SEGMENT,
                               location="path", example=seg, kind="segment")  # fmt: skip
        found.append((0 if seg in ex.text else 1, point))
    found.sort(key=lambda item: item[0])
    return [p for _, p in found[:MAX_SEGMENTS]]


def missing_points(ctx: CheckContext) -> list[InjectionPoint]:
    """``/<v>`` and ``/<prefix>/<v>`` for the deepest known directories of crawled pages."""
    base = ctx.target.url_for("/")
    dirs: list[str] = []
    for ex in _pages(ctx):
        head = urlsplit(ex.url).path.rpartition("/")[0]
        if head and head not in dirs and "%" not in head and ".." not in head:
            dirs.append(head)
    chosen = ["/"] + [d + "/" for d in dirs][: MAX_MISSING - 1]
    return [InjectionPoint(endpoint=_template(base, d, MISSING, MISSING_EXAMPLE), name=MISSING,
                           location="path", example=MISSING_EXAMPLE, kind="missing")
            for d in chosen]  # fmt: skip


def header_points(ctx: CheckContext) -> list[InjectionPoint]:
    """The header points on the target's own URL and its first other HTML page."""
    urls = [ctx.target.url.split("?")[0].split("#")[0]]
    for ex in _pages(ctx):
        if len(urls) >= MAX_HEADER_PAGES:
            break
        if ex.response.content_type == "text/html" and ex.url not in urls:
            urls.append(ex.url)
    out = []
    for url in urls[:MAX_HEADER_PAGES]:
        ep = Endpoint(url=url, source="injection")
        for name in (*HEADERS, *ROUTING_HEADERS):
            out.append(InjectionPoint(endpoint=ep, name=name, location="header", kind="header"))
    return out


def cookie_points(ctx: CheckContext) -> list[InjectionPoint]:
    """The target's own cookie names, each on the first page that set it."""
    out: list[InjectionPoint] = []
    names: set[str] = set()
    for ex in _pages(ctx):
        for c in ex.response.cookies:
            if c.name in names or len(out) >= MAX_COOKIES:
                continue
            names.add(c.name)
            out.append(InjectionPoint(endpoint=Endpoint(url=ex.url, source="injection"),
                                      name=c.name, location="cookie", example=c.value or None,
                                      kind="cookie", cookie_base=ctx.user_cookie))  # fmt: skip
    return out


def points(ctx: CheckContext, kinds: Sequence[str] | None = None) -> list[InjectionPoint]:
    """Every injection point of the scan of the given kinds (default: all the mode allows).

    ``form`` and ``body`` points (POST) are left out without ``--active``.
    """
    wanted = tuple(kinds or (ALL_KINDS if ctx.active else DEFAULT_KINDS))
    if not ctx.active:
        wanted = tuple(k for k in wanted if k not in ("form", "body"))
    out: list[InjectionPoint] = []
    params = tuple(k for k in wanted if k in ("query", "path", "form", "body"))
    if params:
        methods = ("GET", "POST") if any(k in ("form", "body") for k in params) else ("GET",)
        out += [from_slot(s) for s in slots(get_endpoints(ctx, methods), params)]
    if "segment" in wanted:
        out += segment_points(ctx)
    if "missing" in wanted:
        out += missing_points(ctx)
    if "header" in wanted:
        out += header_points(ctx)
    if "cookie" in wanted:
        out += cookie_points(ctx)
    return out


# -- reflection: which points the app uses ------------------------------------------
@dataclass(frozen=True)
class Reflection:
    """What one marker probe showed: the marker in the body or headers, a status change."""

    marker: str
    exchange: Exchange | None
    reflected: bool = False  # the marker is in the body
    in_headers: bool = False  # the marker is in a response header (Location, Set-Cookie ...)
    changed: bool = False  # the status differs from the page's own

    @property
    def html(self) -> bool:
        return self.exchange is not None and self.exchange.response.content_type in (
            "text/html", "application/xhtml+xml")  # fmt: skip


_NOT_TESTED = Reflection(marker="", exchange=None)


class _Memo:
    """Reflection results of one scan, shared by its checks."""

    def __init__(self) -> None:
        self.results: dict[tuple[str, str, str, str], asyncio.Future[Reflection]] = {}
        self.requests = 0


def _memo(ctx: CheckContext) -> _Memo:
    return ctx.shared("injection.reflection", _Memo)


def marker() -> str:
    return "apg" + token(9)


def _group(pending: list[InjectionPoint]) -> list[list[InjectionPoint]]:
    """Points that can share one request: the query parameters of one endpoint (numbers
    apart: a 400 for one would hide the rest), the string fields of one form or JSON body,
    the plain headers of one page, the cookies of one page; everything else alone.

    Groups come out interleaved by kind, so the request cap leaves no kind untested."""
    groups: dict[tuple[str, ...], list[InjectionPoint]] = {}
    for i, p in enumerate(pending):
        if p.location == "query" and p.method == "GET":
            key: tuple[str, ...] = ("query", p.endpoint.url, str(numeric(p)))
        elif p.location in ("form", "body") and not numeric(p):
            key = (p.location, p.method, p.endpoint.url)
        elif p.location == "header" and p.name not in ROUTING_HEADERS:
            key = ("header", p.endpoint.url)
        elif p.location == "cookie":
            key = ("cookie", p.endpoint.url)
        else:
            key = ("single", str(i))
        groups.setdefault(key, []).append(p)
    by_kind: dict[str, list[list[InjectionPoint]]] = {}
    for group in groups.values():
        by_kind.setdefault(group[0].kind, []).append(group)
    out: list[list[InjectionPoint]] = []
    queues = list(by_kind.values())
    while any(queues):
        for queue in queues:
            if queue:
                out.append(queue.pop(0))
    return out


def _batch_probe(group: list[InjectionPoint], marks: list[str]) -> Probe | None:
    first = group[0]
    if len(group) == 1:
        value = "/" + marks[0] if first.name == "X-Original-URL" else marks[0]
        return first.probe(value)
    if first.location == "query":
        overrides = {("query", p.name): m for p, m in zip(group, marks, strict=True)}
        url = build_url(first.endpoint, overrides)
        return None if url is None else Probe(url=url, follow_redirects=False)
    url = first.baseline_url()
    if url is None:
        return None
    if first.location in ("form", "body"):
        values = {p.name: m for p, m in zip(group, marks, strict=True)}
        body, ctype = _body(first.endpoint, first.location, values)
        return Probe(url=url, method=first.method, headers=(("Content-Type", ctype),),
                     body=body, follow_redirects=False)  # fmt: skip
    if first.location == "header":
        return Probe(url=url, headers=tuple((p.name, m) for p, m in zip(group, marks, strict=True)),
                     follow_redirects=False)  # fmt: skip
    cookie = first.cookie_header({p.name: m for p, m in zip(group, marks, strict=True)})
    return Probe(url=url, headers=(("Cookie", cookie),), follow_redirects=False)


def _body(ep: Endpoint, location: str, values: dict[str, str]) -> tuple[bytes, str]:
    """A form or JSON body with ``values`` set, the other fields at their examples."""
    first, *rest = values.items()
    body, ctype = build_body(ep, location, *first)
    if not rest:
        return body, ctype
    if location == "form":
        fields = dict(parse_qsl(body.decode(), keep_blank_values=True)) | dict(rest)
        return urlencode(fields).encode(), ctype
    data = json.loads(body) | dict(rest)
    return json.dumps(data).encode(), ctype


def _own_status(ctx: CheckContext, point: InjectionPoint) -> int | None:
    url = point.baseline_url()
    for ex in ctx.exchanges:
        if ex.url == url and ex.probe.method.upper() == point.method and not ex.probe.headers:
            return ex.status
    return None


async def _run_group(ctx: CheckContext, memo: _Memo, group: list[InjectionPoint]) -> None:
    marks = [marker() for _ in group]
    futures = [memo.results[p.key] for p in group]
    ex: Exchange | None = None
    try:
        probe = _batch_probe(group, marks)
        if probe is not None and memo.requests < MAX_REFLECTION_REQUESTS:
            memo.requests += 1
            ex = await ctx.send(probe)
    finally:
        for p, m, fut in zip(group, marks, futures, strict=True):
            if fut.done():
                continue
            if ex is None:
                fut.set_result(Reflection(marker=m, exchange=None))
                continue
            headers = " ".join(v for _, v in ex.response.headers)
            own = _own_status(ctx, p)
            fut.set_result(Reflection(marker=m, exchange=ex, reflected=m in ex.text,
                                      in_headers=m in headers,
                                      changed=own is not None and own != ex.status))  # fmt: skip


async def reflect(
    ctx: CheckContext, pts: Iterable[InjectionPoint]
) -> dict[tuple[str, str, str, str], Reflection]:
    """One marker probe per point (shared per scan, batched where safe), by point key."""
    memo = _memo(ctx)
    wanted = list(dict.fromkeys(pts))
    loop = asyncio.get_running_loop()
    pending = [p for p in wanted if p.key not in memo.results]
    for p in pending:
        memo.results[p.key] = loop.create_future()
    await asyncio.gather(*(_run_group(ctx, memo, g) for g in _group(pending)))
    out = {}
    for p in wanted:
        try:
            out[p.key] = await memo.results[p.key]
        except asyncio.CancelledError:
            raise
        except Exception:  # a probe that failed elsewhere: not tested
            out[p.key] = _NOT_TESTED
    return out


def by_evidence(
    pts: Sequence[InjectionPoint], found: dict[tuple[str, str, str, str], Reflection]
) -> list[InjectionPoint]:
    """``pts`` reordered: reflected first, then those that changed the status, then the rest
    (stable within each group)."""

    def rank(p: InjectionPoint) -> int:
        r = found.get(p.key, _NOT_TESTED)
        return 0 if r.reflected else 1 if (r.changed or r.in_headers) else 2

    return sorted(pts, key=rank)


def _directory(point: InjectionPoint) -> str:
    return point.endpoint.url.rsplit("/", 1)[0]


def worth_probing(
    pts: Sequence[InjectionPoint], found: dict[tuple[str, str, str, str], Reflection]
) -> list[InjectionPoint]:
    """``pts`` without repeats of one sink: a segment whose marker page is a 404 is the
    not-found handler (the ``missing`` points test it); a route's last path parameter where a
    segment point is (``/greet/{name}``, ``/greet/ada``) is the segment (which names the page
    in-process and over a socket alike); a missing path that a route answers is that route;
    of the ``missing`` points only those whose answers differ are kept."""
    out: list[InjectionPoint] = []
    missing_seen: set[tuple[int, str]] = set()  # (status, body without the path)
    segment_dirs = {_directory(p) for p in pts if p.kind == "segment"}
    for p in pts:
        r = found.get(p.key, _NOT_TESTED)
        ex = r.exchange
        if p.kind == "path" and p.endpoint.url.endswith("/{" + p.name + "}"):
            if _directory(p) in segment_dirs:
                continue  # the segment point tests it, under the page's own URL
        if p.kind == "segment" and ex is not None and ex.status == 404:
            continue
        if p.kind == "missing" and ex is not None and ex.status < 400:
            if _directory(p) in segment_dirs:
                continue  # a route with a parameter there, not a not-found page
        if p.kind == "missing" and ex is not None:
            text = ex.text[:4000].replace(urlsplit(ex.url).path, "").replace(r.marker, "")
            shape = (ex.status, text)
            if shape in missing_seen:
                continue
            missing_seen.add(shape)
        out.append(p)
    return out


def encode_segment(value: str) -> str:
    """A value as one path segment (``/`` encoded too)."""
    return quote(value, safe="")
