"""The engine's HTTP client: all I/O of a scan goes through here."""

from __future__ import annotations

import asyncio
import http.cookiejar
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx

from apigrade import __version__
from apigrade.engine.body import read_capped
from apigrade.engine.http import SAFE_METHODS, Exchange, Probe, Response
from apigrade.engine.limits import Budget, BudgetExhausted, RateLimiter
from apigrade.engine.target import Target

USER_AGENT = f"apigrade/{__version__} (+security scanner)"
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


@dataclass
class EngineConfig:
    """Budgets and request settings of one scan."""

    concurrency: int = 10
    rate: float | None = None
    timeout: float = 10.0
    max_requests: int = 800
    body_cap: int = 2 * 1024 * 1024
    max_redirects: int = 5
    headers: tuple[tuple[str, str], ...] = ()
    cookie: str | None = None
    verify_tls: bool = True
    active: bool = False


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Keep no cookies: every probe carries exactly the headers it names."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False


@dataclass
class Stats:
    sent: int = 0
    cache_hits: int = 0
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    failures_in_a_row: int = 0
    skipped: int = 0


class Engine:
    """Bounded, rate-limited, cached, scope-keeping HTTP for checks.

    ``send`` never raises for network trouble: it returns ``None`` and records the
    error, so one failing probe never ends a scan. ``on_exchange`` sees every
    response once (for passive checks). After ``FAILURE_LIMIT`` failed probes in a
    row the target is taken as gone and further probes are skipped, so a dead or
    stalling target cannot hold a scan for budget x timeout.
    """

    FAILURE_LIMIT = 25
    #: Bodies kept in full for later readers (cache, history) before they are trimmed.
    RETAIN_BYTES = 48 * 1024 * 1024
    TRIM_TO = 64 * 1024

    def __init__(
        self,
        target: Target,
        config: EngineConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.target = target
        self.config = config or EngineConfig()
        self.stats = Stats()
        self.on_exchange = on_exchange
        self._budget = Budget(self.config.max_requests)
        self._rate = RateLimiter(self.config.rate)
        self._sem = asyncio.Semaphore(max(1, self.config.concurrency))
        self._cache: dict[tuple[object, ...], asyncio.Future[Exchange | None]] = {}
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._retained = 0

    async def __aenter__(self) -> Engine:
        cfg = self.config
        limits = httpx.Limits(
            max_connections=cfg.concurrency, max_keepalive_connections=cfg.concurrency
        )
        transport = self._transport
        if transport is None:
            verify: ssl.SSLContext | bool = True
            if not cfg.verify_tls:
                verify = False
            transport = httpx.AsyncHTTPTransport(verify=verify, limits=limits, retries=0)
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(cfg.timeout),
            cookies=http.cookiejar.CookieJar(policy=_NoCookies()),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def requests_sent(self) -> int:
        return self.stats.sent

    @property
    def budget_left(self) -> int:
        return self._budget.limit - self._budget.used

    async def send(self, probe: Probe) -> Exchange | None:
        """Send a probe (or reuse an identical one's answer); None when it failed."""
        key = probe.key()
        fut = self._cache.get(key)
        if fut is not None:
            self.stats.cache_hits += 1
            return await asyncio.shield(fut)
        if self.stats.failures_in_a_row >= self.FAILURE_LIMIT:
            self.stats.skipped += 1
            return None
        fut = asyncio.get_running_loop().create_future()
        self._cache[key] = fut
        try:
            result = await self._send_following(probe)
        except BaseException as exc:
            fut.set_result(None)
            if isinstance(exc, asyncio.CancelledError):
                raise
            self.stats.failures_in_a_row += 1
            reason = repr(exc) if str(exc) else type(exc).__name__
            self.stats.errors.append(f"{probe.method} {probe.display_url}: {reason}"[:300])
            return None
        if result is not None:
            self.stats.failures_in_a_row = 0
        fut.set_result(self.retain(result))
        return result

    def retain(self, exchange: Exchange | None) -> Exchange | None:
        """The copy to keep: in full while under RETAIN_BYTES, else trimmed."""
        if exchange is None:
            return None
        size = len(exchange.response.body)
        if size > self.TRIM_TO and self._retained + size > self.RETAIN_BYTES:
            return exchange.trimmed(self.TRIM_TO)
        self._retained += size
        return exchange

    async def check_reachable(self) -> Exchange:
        """Fetch the target URL once; raise the transport error when it is down."""
        probe = Probe(url=self.target.url)
        exchange = await self._send_following(probe)
        if exchange is None:
            from apigrade.errors import TargetError

            raise TargetError(f"{self.target.url} is out of scope or over budget")
        self._cache[probe.key()] = fut = asyncio.get_running_loop().create_future()
        fut.set_result(exchange)
        return exchange

    async def _send_following(self, probe: Probe) -> Exchange | None:
        method = probe.method.upper()
        if method not in SAFE_METHODS and not self.config.active:
            self.stats.refused += 1
            return None
        if not self.target.in_scope(probe.url):
            self.stats.refused += 1
            return None
        current = probe
        hops: list[str] = []
        while True:
            try:
                response = await self._send_one(current)
            except BudgetExhausted:
                return None
            exchange = Exchange(probe=current, response=response, url=current.display_url)
            if self.on_exchange is not None:
                self.on_exchange(exchange)
            location = response.header("location")
            if (
                not probe.follow_redirects
                or response.status not in REDIRECT_CODES
                or not location
                or len(hops) >= self.config.max_redirects
            ):
                break
            nxt = urljoin(current.display_url, location.strip())
            if not self.target.in_scope(nxt) or nxt in hops:
                break
            hops.append(current.display_url)
            keep_body = response.status in (307, 308)
            current = Probe(
                url=nxt,
                method=current.method if keep_body else "GET",
                headers=current.headers,
                body=current.body if keep_body else None,
                anonymous=current.anonymous,
            )
        if not hops:
            return exchange
        return Exchange(probe=probe, response=response, url=current.url, redirects=tuple(hops))

    def _headers(self, probe: Probe) -> dict[str, str]:
        """User headers and cookies, then the probe's own; names merge case-insensitively."""
        merged: dict[str, tuple[str, str]] = {}
        pairs: list[tuple[str, str]] = []
        if not probe.anonymous:
            pairs += list(self.config.headers)
            if self.config.cookie:
                pairs.append(("Cookie", self.config.cookie))
        pairs += list(probe.headers)
        for k, v in pairs:
            merged[k.lower()] = (k, v)
        return dict(merged.values())

    async def _send_one(self, probe: Probe) -> Response:
        assert self._client is not None, "Engine used outside 'async with'"
        async with self._sem:
            self._budget.take()
            await self._rate.wait()
            self.stats.sent += 1
            extensions = {}
            if probe.raw_target is not None:
                extensions["target"] = probe.raw_target.encode("latin-1", "replace")
            request = self._client.build_request(
                probe.method.upper(),
                probe.url,
                headers=self._headers(probe),
                content=probe.body,
                extensions=extensions,
            )
            start = time.monotonic()
            async with asyncio.timeout(self.config.timeout * 1.5):
                resp = await self._client.send(request, stream=True)
                try:
                    body = await read_capped(
                        resp.aiter_raw(),
                        resp.headers.get("content-encoding"),
                        self.config.body_cap,
                    )
                finally:
                    await resp.aclose()
            return Response(
                status=resp.status_code,
                headers=tuple((k, v) for k, v in resp.headers.multi_items()),
                body=body.data,
                truncated=body.truncated,
                http_version=resp.http_version,
                elapsed=time.monotonic() - start,
            )
