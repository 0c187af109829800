"""The engine's HTTP client: all I/O of a scan goes through here."""

from __future__ import annotations

import asyncio
import contextlib
import http.cookiejar
import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin

import httpx

from apigrade import __version__
from apigrade.engine.body import read_capped
from apigrade.engine.handshake import TlsHello, TlsResult, Unsupported, build_context, handshake
from apigrade.engine.http import SAFE_METHODS, Exchange, Probe, Response
from apigrade.engine.limits import Budget, BudgetExhausted, RateLimiter
from apigrade.engine.receiver import Receiver
from apigrade.engine.target import Target
from apigrade.engine.transports import ASGIAppTransport, WSGIAppTransport
from apigrade.errors import UsageError
from apigrade.redact import describe_error

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


class SessionHook(Protocol):
    """Declared identities' sessions (``auth/session.py``): see :attr:`Engine.session`."""

    def default_headers(self) -> tuple[tuple[str, str], ...]: ...

    async def prepare(self, probe: Probe) -> Probe | None: ...

    async def after(
        self, probe: Probe, exchange: Exchange, *, retried: bool = False
    ) -> Probe | None: ...


class NamedFetchError(Exception):
    """A fetch from a host the user named failed; the message is one safe line."""


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Keep no cookies: every probe carries exactly the headers it names."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False


@dataclass
class Stats:
    sent: int = 0
    errors: list[str] = field(default_factory=list)
    refused: int = 0
    failures_in_a_row: int = 0
    skipped: int = 0


class Engine:
    """Bounded, rate-limited, cached, scope-keeping I/O for a scan: every byte that
    leaves the machine goes through here.

    ``send`` never raises for network trouble: it returns ``None`` and records the
    error, so one failing probe never ends a scan. ``on_exchange`` sees every
    response once (for passive checks). After ``FAILURE_LIMIT`` failed probes in a
    row the target is taken as gone and further probes are skipped, so a dead or
    stalling target cannot hold a scan for budget x timeout.

    Besides probes: ``fetch_named`` (a URL on a host the user named, e.g. ``--spec``),
    ``tls_handshake`` (a raw handshake with the target) and ``receiver`` (the loopback
    receiver of out-of-band probes). Each keeps a scope rule, is bounded by the request
    timeout as a whole, and takes its place in ``--max-requests`` and ``requests_sent``.
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
        self._count_lock = threading.Lock()  # the receiver counts from its own thread
        self._receivers: set[Receiver] = set()
        #: the target is an app object scanned in-process: there is no socket to open
        self.in_process = isinstance(transport, WSGIAppTransport | ASGIAppTransport)
        #: the declared identities' sessions (``--auth``): fresh credentials before a
        #: probe, one retry after a re-login when a response says the session ended
        self.session: SessionHook | None = None

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
        for rec in list(self._receivers):
            await asyncio.to_thread(rec.close)
        self._receivers.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @property
    def requests_sent(self) -> int:
        return self.stats.sent

    @property
    def budget_left(self) -> int:
        return self._budget.limit - self._budget.used

    @property
    def runs_here(self) -> bool:
        """The target runs on this machine: scanned in-process or on a loopback address."""
        return self.in_process or self.target.is_loopback

    def _take(self) -> None:
        """Count one exchange against the budget; BudgetExhausted past ``--max-requests``."""
        with self._count_lock:
            self._budget.take()
            self.stats.sent += 1

    def _admit(self) -> bool:
        """``_take`` for the receiver's thread: False (and counted as refused) when spent."""
        try:
            self._take()
        except BudgetExhausted:
            with self._count_lock:
                self.stats.refused += 1
            return False
        return True

    async def send(self, probe: Probe) -> Exchange | None:
        """Send a probe (or reuse an identical one's answer); None when it failed."""
        if self.session is not None:
            prepared = await self.session.prepare(probe)
            if prepared is None:  # would end an identity's session or account
                self.stats.refused += 1
                return None
            probe = prepared
        key = probe.key()
        fut = self._cache.get(key)
        if fut is not None:
            return await asyncio.shield(fut)
        if self.stats.failures_in_a_row >= self.FAILURE_LIMIT:
            self.stats.skipped += 1
            return None
        fut = asyncio.get_running_loop().create_future()
        self._cache[key] = fut
        try:
            result = await self._send_following(probe)
            if self.session is not None and result is not None:
                retry = await self.session.after(probe, result)
                if retry is not None:  # the session ended: logged in again, sent once more
                    again = await self._send_following(retry)
                    if again is not None:
                        await self.session.after(retry, again, retried=True)
                        result = again
        except BaseException as exc:
            fut.set_result(None)
            if isinstance(exc, asyncio.CancelledError):
                raise
            self.stats.failures_in_a_row += 1
            reason = describe_error(exc)  # type + redacted message, never a repr
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

    async def send_login(self, probe: Probe) -> Exchange | None:
        """A request of a login flow the user declared (``--auth``): POST allowed without
        ``--active`` (the user's explicit instruction), the target's scope, counted in the
        budget, never cached nor shown to passive checks (it carries the password).
        Raises the transport error; None when refused or over budget."""
        return await self._send_following(probe, observe=False, login=True)

    # -- other I/O: a named host, TLS handshakes, the receiver ------------------
    async def fetch_named(self, url: str) -> Exchange:
        """GET ``url`` on a host the user named explicitly (``--spec URL``).

        Scope: that URL's origin only (redirects within it, never off it). No user
        headers or cookies are sent (they belong to the target); userinfo in the URL is
        sent as Basic credentials. Body cap, the request timeout for the whole exchange,
        counted in ``--max-requests``. Not cached, not shown to passive checks. Raises
        :class:`NamedFetchError` with one line (without the URL) when it fails.
        """
        try:
            named = Target.parse(url)
        except UsageError:
            raise NamedFetchError("not an http(s) URL") from None
        try:
            exchange = await self._send_following(
                Probe(url=url, anonymous=True), in_scope=named.in_scope, observe=False
            )
        except (httpx.TimeoutException, TimeoutError):
            raise NamedFetchError(
                f"no complete answer within --timeout {self.config.timeout:g} s"
            ) from None
        except (httpx.HTTPError, OSError, ValueError) as exc:
            raise NamedFetchError(describe_error(exc, limit=200)) from None
        if exchange is None:
            raise NamedFetchError("refused: the --max-requests budget is spent")
        return exchange

    async def tls_handshake(self, hello: TlsHello) -> TlsResult | None:
        """One raw TLS handshake with the target's own host and port (no HTTP sent).

        None when nothing was attempted: not an HTTPS target, an app scanned in-process,
        a hello the local OpenSSL cannot offer, or the budget spent.
        """
        if not self.target.is_https or self.in_process:
            self.stats.refused += 1
            return None
        try:
            ctx = build_context(hello)
        except Unsupported:
            return None
        async with self._sem:
            try:
                self._take()
            except BudgetExhausted:
                return None
            await self._rate.wait()
            return await handshake(self.target.host, self.target.port, ctx, self.config.timeout)

    @contextlib.asynccontextmanager
    async def receiver(self) -> AsyncIterator[Receiver | None]:
        """``async with engine.receiver() as r``: the loopback receiver, or None.

        Only for a target that runs on this machine (it listens on 127.0.0.1 and the
        target must reach it), and only while budget is left; each request it answers is
        one exchange of the budget. Closed when the block ends (or the engine closes).
        """
        if not self.runs_here or self.budget_left <= 0:
            self.stats.refused += 1
            yield None
            return
        rec = Receiver(admit=self._admit, timeout=self.config.timeout).start()
        self._receivers.add(rec)
        try:
            yield rec
        finally:
            self._receivers.discard(rec)
            await asyncio.to_thread(rec.close)

    # -- probes ------------------------------------------------------------------
    async def _send_following(
        self,
        probe: Probe,
        *,
        in_scope: Callable[[str], bool] | None = None,
        observe: bool = True,
        login: bool = False,
    ) -> Exchange | None:
        """Send ``probe`` and follow in-scope redirects; ``in_scope`` defaults to the
        target's scope, ``observe`` shows each exchange to ``on_exchange``, ``login``
        (a declared login flow only) lets a state-changing method through."""
        scope = in_scope or self.target.in_scope
        method = probe.method.upper()
        if method not in SAFE_METHODS and not self.config.active and not login:
            self.stats.refused += 1
            return None
        if not scope(probe.url):
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
            if observe and self.on_exchange is not None:
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
            if not scope(nxt) or nxt in hops:
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
            if self.session is not None:
                pairs += list(self.session.default_headers())
        pairs += list(probe.headers)
        for k, v in pairs:
            merged[k.lower()] = (k, v)
        return dict(merged.values())

    async def _send_one(self, probe: Probe) -> Response:
        assert self._client is not None, "Engine used outside 'async with'"
        async with self._sem:
            self._take()
            await self._rate.wait()
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
            # The timeout bounds the whole exchange: connect, headers and body together.
            async with asyncio.timeout(self.config.timeout):
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
