"""Discovery I/O: crawl same-origin links, read robots.txt, sitemaps and OpenAPI specs."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urldefrag, urlsplit

from apigrade.checks.context import ScanState
from apigrade.checks.registry import REGISTRY
from apigrade.discovery.django import urlconf_endpoints
from apigrade.discovery.html import (
    Links,
    endpoint_from_url,
    extract_links,
    extract_urls_from_script,
)
from apigrade.discovery.model import Endpoint, is_logout
from apigrade.discovery.openapi import OPENAPI_PATHS, Spec, parse_spec, spec_format
from apigrade.discovery.robots import parse_robots
from apigrade.discovery.sitemap import parse_sitemap
from apigrade.engine import graphql_discovery, inprocess_discovery, offload
from apigrade.engine.http import Exchange, Probe
from apigrade.engine.spec_source import fetch_spec, load_local_spec
from apigrade.errors import UsageError
from apigrade.inprocess.routes import RouteTable
from apigrade.redact import shown_url

T = TypeVar("T")
#: the knowledge-base fields discovery writes (phase 0, before every check phase)
KB_WRITES = ("words", "specs")
REGISTRY.declare_engine("engine.discover", writes=KB_WRITES)
MAX_DEPTH = 2
#: a spec the user named gets this many CPU deadlines to parse (large YAML specs are slow)
NAMED_SPEC_SLACK = 10
#: well-known spec paths whose parsing may run over the deadline before the rest are skipped
MAX_SPEC_DROPS = 2
MAX_PAGES = 40
_HTMLISH = ("text/html", "application/xhtml+xml", "")


def _path(ex: Exchange) -> str:
    return urlsplit(ex.url).path or "/"


class Discoverer:
    """Fills ``state.endpoints`` within the target's origin and a page budget."""

    def __init__(
        self, state: ScanState, spec: str | None = None, probe_specs: bool = True,
        app_routes: bool = True,
    ) -> None:  # fmt: skip
        self.state = state
        self.spec = spec
        self.probe_specs = probe_specs  # False: no requests to the well-known spec paths
        self.app_routes = app_routes  # False: do not enumerate the app object's routes
        self.spec_text = load_local_spec(spec) if spec else None
        self._seen: set[str] = set()
        self._endpoints: dict[tuple[str, str, str], Endpoint] = {}
        #: the app's route table (in-process scans of a known framework), for locations
        self.app_table: RouteTable | None = None
        #: endpoints found without the app's routes (crawl, robots, sitemaps, specs)
        self.discovered = 0

    def _add(self, ep: Endpoint) -> None:
        key = (ep.method.upper(), ep.url, ep.graphql or "")  # one per GraphQL operation too
        old = self._endpoints.get(key)
        if old is None or (len(ep.params) > len(old.params)) or ep.source == "openapi":
            self._endpoints[key] = ep

    def _in_scope(self, url: str) -> bool:
        return self.state.target.in_scope(url)

    async def _fetch(self, url: str) -> Exchange | None:
        return await self.state.engine.send(Probe(url=url))

    async def _parse(
        self, fn: Callable[..., T], *args: Any, label: str, slack: float = 1,
        max_input: int = offload.MAX_INPUT,
    ) -> T | None:
        """A parser run in the analysis pool; None when it was dropped (named in errors)."""
        deadline = self.state.cpu_deadline * slack
        return await offload.run(
            fn, *args, deadline=deadline, label=label, errors=self.state.errors,
            max_input=max_input,
        )  # fmt: skip

    async def _page_links(self, ex: Exchange | None) -> Links | list[str] | None:
        """A crawled page's links (HTML) or URLs (script), parsed in the pool."""
        if ex is None or ex.status >= 400:
            return None
        ctype = ex.response.content_type
        if "javascript" in ctype:
            label = f"script parsing of {_path(ex)}"
            urls = await self._parse(extract_urls_from_script, ex.url, ex.text, label=label)
            return urls or []
        if ctype not in _HTMLISH:
            return None
        label = f"HTML parsing of {_path(ex)}"
        return await self._parse(extract_links, ex.url, ex.text, label=label)

    async def _named_spec(self, text: str) -> Spec | None:
        """A spec the user named: any format, a longer deadline (it is not a target's page)."""
        errors = self.state.errors
        before = len(errors)
        target = self.state.target.url
        parsed = await self._parse(
            parse_spec, text, target, label="spec", slack=NAMED_SPEC_SLACK,
            max_input=max(offload.MAX_INPUT, 2 * len(text)),  # read with its own limit
        )  # fmt: skip
        if parsed is None and len(errors) > before and errors[-1].startswith("spec dropped: "):
            why = errors.pop().removeprefix("spec dropped: ")
            raise UsageError(f"the spec could not be parsed: {why}")
        return parsed

    async def run(self) -> list[Endpoint]:
        target = self.state.target
        await asyncio.gather(self._crawl(), self._robots(), self._specs())
        await self._django_urlconf()
        self.discovered = len(self._endpoints)
        if self.app_routes and self.state.app is not None:
            await inprocess_discovery.add_app_routes(self, self._add, self._parse)
        if self.probe_specs:  # a GraphQL schema is a spec too (engine/graphql_discovery.py)
            urls = [e.url for e in self._endpoints.values()]
            for ep in await graphql_discovery.discover(self.state, urls, self._parse):
                self._add(ep)
        if target.url not in {e.url for e in self._endpoints.values()}:
            self._add(endpoint_from_url(target.url, "crawl"))
        eps = sorted(self._endpoints.values(), key=lambda e: (e.url, e.method))
        self.state.endpoints = eps
        return eps

    async def _django_urlconf(self) -> None:
        """Routes a Django DEBUG 404 page lists (robots.txt or a spec path missed): no request."""
        for ex in list(self.state.exchanges):
            if ex.status != 404 or "Django tried these URL patterns" not in ex.text:
                continue
            label = f"Django URLconf parsing of {_path(ex)}"
            for ep in await self._parse(urlconf_endpoints, ex.url, ex.text, label=label) or ():
                if self._in_scope(ep.url):
                    self._add(ep)
            return

    async def _crawl(self) -> None:
        frontier = [self.state.target.url]
        for depth in range(MAX_DEPTH + 1):
            batch = []
            for url in frontier:
                url = urldefrag(url)[0]
                if url in self._seen or not self._in_scope(url) or len(self._seen) >= MAX_PAGES:
                    continue
                self._seen.add(url)
                batch.append(url)
            results = await asyncio.gather(*(self._fetch(u) for u in batch))
            parsed = await asyncio.gather(*(self._page_links(ex) for ex in results))
            frontier = []
            for ex, links in zip(results, parsed, strict=True):
                if ex is None or ex.status >= 400:
                    continue
                self._add(endpoint_from_url(ex.url, "crawl"))
                if isinstance(links, list):  # a script's URLs
                    for u in links:
                        if self._in_scope(u):
                            self._add(endpoint_from_url(u, "script"))
                    continue
                if links is None:
                    continue  # not HTML, or its parsing was dropped
                if links.title:
                    self.state.kb.words.add(links.title)
                for form in links.forms:
                    if self._in_scope(form.url):
                        self._add(form)
                if depth < MAX_DEPTH:
                    frontier += [u for u in links.pages + links.scripts
                                 if self._in_scope(u) and not is_logout(u)]  # fmt: skip
                for u in links.pages:  # recorded, never fetched: it would end the session
                    if self._in_scope(u) and is_logout(u):
                        self._add(endpoint_from_url(u, "crawl"))
                for u in links.pages:
                    if self._in_scope(u) and urlsplit(u).query:
                        self._add(endpoint_from_url(u, "crawl"))

    async def _robots(self) -> None:
        origin = self.state.target.origin
        ex = await self._fetch(origin + "/robots.txt")
        sitemaps = [origin + "/sitemap.xml"]
        if ex is not None and ex.status == 200 and "<html" not in ex.text[:500].lower():
            label = "robots.txt parsing"
            info = await self._parse(parse_robots, origin + "/", ex.text, label=label)
            for u in info.paths[:50] if info else ():
                if self._in_scope(u):
                    self._add(endpoint_from_url(u, "robots"))
            sitemaps += [u for u in info.sitemaps if self._in_scope(u)] if info else []
        for sm in list(dict.fromkeys(sitemaps))[:3]:
            sx = await self._fetch(sm)
            if sx is None or sx.status != 200:
                continue
            smi = await self._parse(parse_sitemap, sx.text, label=f"sitemap parsing of {_path(sx)}")
            for u in smi.urls[:100] if smi else ():
                if self._in_scope(u):
                    self._add(endpoint_from_url(u, "sitemap"))

    async def _specs(self) -> None:
        target = self.state.target
        if self.spec_text is not None:
            parsed = await self._named_spec(self.spec_text)
            if parsed is None:
                raise UsageError(f"{shown_url(self.spec or '')!r} is not an OpenAPI 3 or Swagger 2 document")
            for ep in parsed.endpoints:
                self._add(ep)
            return
        if self.spec and not self._in_scope(self.spec):
            text = await fetch_spec(self.state.engine, self.spec)
            parsed = await self._named_spec(text)
            if parsed is None:
                raise UsageError(f"{shown_url(self.spec or '')!r} is not an OpenAPI 3 or Swagger 2 document")
            for ep in parsed.endpoints:
                self._add(ep)
            return
        if not self.spec and not self.probe_specs:
            return
        candidates = [self.spec] if self.spec else [target.origin + p for p in OPENAPI_PATHS]
        results = await asyncio.gather(*(self._fetch(u) for u in candidates))
        tried: set[bytes] = set()  # bodies already parsed (one body served on every path)
        dropped = 0
        for url, ex in zip(candidates, results, strict=True):
            if ex is None or ex.status != 200:
                continue
            ctype = ex.response.content_type
            digest = hashlib.sha256(ex.response.body).digest()
            if self.spec:
                parsed = await self._named_spec(ex.text)
            elif spec_format(ex.text, ctype) is None or digest in tried:
                continue  # not JSON or YAML by its type or first bytes (never parsed), or seen
            else:
                tried.add(digest)
                errors_before = len(self.state.errors)
                label = f"spec parsing of {_path(ex)}"
                parsed = await self._parse(parse_spec, ex.text, target.url, ctype, label=label)
                dropped += len(self.state.errors) > errors_before
                if dropped >= MAX_SPEC_DROPS:
                    self.state.errors.append(
                        f"spec discovery stopped: {dropped} candidates ran over the CPU deadline"
                    )
                    break
            if parsed is None:
                continue
            self.state.kb.specs.append(url)
            for ep in parsed.endpoints:
                self._add(ep)
            break
        else:
            if self.spec:
                raise UsageError(f"{shown_url(self.spec or '')!r} is not an OpenAPI 3 or Swagger 2 document")
