"""Discovery I/O: crawl same-origin links, read robots.txt, sitemaps and OpenAPI specs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import httpx

from apigrade.checks.context import ScanState
from apigrade.discovery.html import endpoint_from_url, extract_links, extract_urls_from_script
from apigrade.discovery.model import Endpoint
from apigrade.discovery.openapi import OPENAPI_PATHS, parse_spec
from apigrade.discovery.robots import parse_robots
from apigrade.discovery.sitemap import parse_sitemap
from apigrade.engine.body import read_capped
from apigrade.engine.client import EngineConfig
from apigrade.engine.http import Exchange, Probe
from apigrade.errors import UsageError

MAX_DEPTH = 2
MAX_PAGES = 40
_HTMLISH = ("text/html", "application/xhtml+xml", "")


def load_spec_text(spec: str) -> str | None:
    """Read a local spec file; None when ``spec`` is a URL (fetched by the engine)."""
    if spec.startswith(("http://", "https://")):
        return None
    try:
        return Path(spec).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"cannot read spec {spec!r}: {exc.strerror or exc}") from None


async def fetch_named_spec(url: str, config: EngineConfig) -> str:
    """Fetch a spec from a host the user named (``--spec URL``): one GET, capped, no redirects."""
    try:
        async with httpx.AsyncClient(
            timeout=config.timeout, verify=config.verify_tls, follow_redirects=False
        ) as client:
            async with client.stream("GET", url) as resp:
                body = await read_capped(
                    resp.aiter_raw(), resp.headers.get("content-encoding"), config.body_cap
                )
                if resp.status_code != 200:
                    raise UsageError(f"cannot fetch spec {url!r}: HTTP {resp.status_code}")
    except httpx.HTTPError as exc:
        raise UsageError(f"cannot fetch spec {url!r}: {exc!r}") from None
    return body.data.decode("utf-8", "replace")


class Discoverer:
    """Fills ``state.endpoints`` within the target's origin and a page budget."""

    def __init__(self, state: ScanState, spec: str | None = None) -> None:
        self.state = state
        self.spec = spec
        self.spec_text = load_spec_text(spec) if spec else None
        self._seen: set[str] = set()
        self._endpoints: dict[tuple[str, str], Endpoint] = {}
        self.spec_found: str | None = None

    def _add(self, ep: Endpoint) -> None:
        key = (ep.method.upper(), ep.url)
        old = self._endpoints.get(key)
        if old is None or (len(ep.params) > len(old.params)) or ep.source == "openapi":
            self._endpoints[key] = ep

    def _in_scope(self, url: str) -> bool:
        return self.state.target.in_scope(url)

    async def _fetch(self, url: str) -> Exchange | None:
        return await self.state.engine.send(Probe(url=url))

    async def run(self) -> list[Endpoint]:
        target = self.state.target
        await asyncio.gather(self._crawl(), self._robots(), self._specs())
        if target.url not in {e.url for e in self._endpoints.values()}:
            self._add(endpoint_from_url(target.url, "crawl"))
        eps = sorted(self._endpoints.values(), key=lambda e: (e.url, e.method))
        self.state.endpoints = eps
        return eps

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
            frontier = []
            for ex in results:
                if ex is None or ex.status >= 400:
                    continue
                self._add(endpoint_from_url(ex.url, "crawl"))
                ctype = ex.response.content_type
                if "javascript" in ctype:
                    for u in extract_urls_from_script(ex.url, ex.text):
                        if self._in_scope(u):
                            self._add(endpoint_from_url(u, "script"))
                    continue
                if ctype not in _HTMLISH:
                    continue
                links = extract_links(ex.url, ex.text)
                if links.title:
                    self.state.kb.words.add(links.title)
                for form in links.forms:
                    if self._in_scope(form.url):
                        self._add(form)
                if depth < MAX_DEPTH:
                    frontier += [u for u in links.pages + links.scripts if self._in_scope(u)]
                for u in links.pages:
                    if self._in_scope(u) and urlsplit(u).query:
                        self._add(endpoint_from_url(u, "crawl"))

    async def _robots(self) -> None:
        origin = self.state.target.origin
        ex = await self._fetch(origin + "/robots.txt")
        sitemaps = [origin + "/sitemap.xml"]
        if ex is not None and ex.status == 200 and "<html" not in ex.text[:500].lower():
            info = parse_robots(origin + "/", ex.text)
            for u in info.paths[:50]:
                if self._in_scope(u):
                    self._add(endpoint_from_url(u, "robots"))
            sitemaps += [u for u in info.sitemaps if self._in_scope(u)]
        for sm in list(dict.fromkeys(sitemaps))[:3]:
            sx = await self._fetch(sm)
            if sx is None or sx.status != 200:
                continue
            smi = parse_sitemap(sx.text)
            for u in smi.urls[:100]:
                if self._in_scope(u):
                    self._add(endpoint_from_url(u, "sitemap"))

    async def _specs(self) -> None:
        target = self.state.target
        if self.spec_text is not None:
            parsed = parse_spec(self.spec_text, target.url)
            if parsed is None:
                raise UsageError(f"{self.spec!r} is not an OpenAPI 3 or Swagger 2 document")
            self.spec_found = self.spec
            for ep in parsed.endpoints:
                self._add(ep)
            return
        if self.spec and not self._in_scope(self.spec):
            text = await fetch_named_spec(self.spec, self.state.engine.config)
            parsed = parse_spec(text, target.url)
            if parsed is None:
                raise UsageError(f"{self.spec!r} is not an OpenAPI 3 or Swagger 2 document")
            self.spec_found = self.spec
            for ep in parsed.endpoints:
                self._add(ep)
            return
        candidates = [self.spec] if self.spec else [target.origin + p for p in OPENAPI_PATHS]
        results = await asyncio.gather(*(self._fetch(u) for u in candidates))
        for url, ex in zip(candidates, results, strict=True):
            if ex is None or ex.status != 200:
                continue
            parsed = parse_spec(ex.text, target.url)
            if parsed is None:
                continue
            self.spec_found = url
            self.state.kb.facts.setdefault("specs", []).append(url)
            for ep in parsed.endpoints:
                self._add(ep)
            break
        else:
            if self.spec:
                raise UsageError(f"{self.spec!r} is not an OpenAPI 3 or Swagger 2 document")
