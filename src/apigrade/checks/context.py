"""What a check sees: the target, discovered endpoints, probes through the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from apigrade.checks.knowledge_base import DebuggerFacts, KbAccessError, KbView, KnowledgeBase
from apigrade.checks.registry import REGISTRY
from apigrade.engine.http import Exchange, Probe
from apigrade.engine.target import Target
from apigrade.model import Confidence, Severity, SourceLocation

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from apigrade.discovery.model import Endpoint
    from apigrade.engine.baseline import SoftNotFound
    from apigrade.engine.client import Engine
    from apigrade.engine.handshake import TlsHello, TlsResult
    from apigrade.engine.receiver import Receiver

__all__ = ["CheckContext", "DebuggerFacts", "Hit", "KbAccessError", "KnowledgeBase", "ScanState"]

T = TypeVar("T")


@dataclass
class Hit:
    """A check's report of one problem; the scanner turns it into a Finding.

    Anything left ``None`` comes from the check's declared metadata.
    """

    url: str
    evidence: str = ""
    method: str = "GET"
    parameter: str | None = None
    severity: Severity | None = None
    confidence: Confidence | None = None
    title: str | None = None
    description: str | None = None
    remediation: str | None = None
    check: str | None = None  # report under another registered finding kind
    location: SourceLocation | None = None  # source file and line (in-process scans)


@dataclass
class ScanState:
    """Everything shared by all checks of a scan."""

    target: Target
    engine: Engine
    baseline: SoftNotFound
    active: bool = False
    endpoints: list[Endpoint] = field(default_factory=list)
    exchanges: list[Exchange] = field(default_factory=list)
    frameworks: list[str] = field(default_factory=list)
    server: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    kb: KnowledgeBase = field(default_factory=KnowledgeBase)
    wordlist: str | None = None
    identities: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    #: role label of each identity ("admin", "user"...); a name missing here gets its role
    #: from its name (``apigrade.identities.role_of``)
    identity_roles: dict[str, str] = field(default_factory=dict)
    user_headers: tuple[tuple[str, str], ...] = ()
    user_cookie: str | None = None
    #: True when the app is scanned in-process: there is no socket to open
    in_process: bool = False
    #: seconds one item of CPU work may take in the analysis pool (``ctx.offload``)
    cpu_deadline: float = 2.0
    #: the scan's error lines (a dropped analysis is recorded here)
    errors: list[str] = field(default_factory=list)
    #: the app object of an in-process scan (read-only: route table, live configuration)
    app: Any = None
    #: per-scan memos of the shared helpers in checks/common (``CheckContext.shared``)
    memos: dict[str, Any] = field(default_factory=dict)


class CheckContext:
    """The one object a check gets: ask for probes, read state, report hits."""

    def __init__(self, state: ScanState, check_id: str, sink: Callable[[str, Hit], None]):
        self._state = state
        self.check_id = check_id
        self._sink = sink

    # -- state -------------------------------------------------------------
    @property
    def target(self) -> Target:
        return self._state.target

    @property
    def active(self) -> bool:
        """True when ``--active`` allows state-changing probes."""
        return self._state.active

    @property
    def endpoints(self) -> list[Endpoint]:
        return self._state.endpoints

    @property
    def exchanges(self) -> list[Exchange]:
        """Every exchange of the scan so far."""
        return self._state.exchanges

    @property
    def frameworks(self) -> list[str]:
        return self._state.frameworks

    @property
    def server(self) -> str | None:
        return self._state.server

    @property
    def versions(self) -> dict[str, str]:
        return self._state.versions

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge-base fields this check declared: ``writes=`` live, ``reads=``
        as immutable copies; any other field raises ``KbAccessError``."""
        check = REGISTRY.runnable(self.check_id)
        if check is None:
            raise KbAccessError(
                f"check {self.check_id!r} is not registered, so it declares no ctx.kb access"
            )
        return cast(KnowledgeBase, KbView(self._state.kb, check.id, check.reads, check.writes))

    @property
    def wordlist(self) -> str | None:
        return self._state.wordlist

    def shared(self, name: str, factory: Callable[[], T]) -> T:
        """A helper's memo for this scan (e.g. reflection results every injection check
        reuses), made by ``factory`` on first use. Not the knowledge base: no check reads
        another's facts through it, only a helper its own cache."""
        memos = self._state.memos
        if name not in memos:
            memos[name] = factory()
        return cast("T", memos[name])

    @property
    def identities(self) -> dict[str, tuple[tuple[str, str], ...]]:
        """Named identities (``--identity NAME:HEADER``): extra headers for each."""
        return self._state.identities

    @property
    def identity_roles(self) -> dict[str, str]:
        """Role label of each named identity (from an auth file); may be empty."""
        return self._state.identity_roles

    @property
    def in_process(self) -> bool:
        """True when the target is an app object scanned without a socket."""
        return self._state.in_process

    @property
    def app(self) -> Any:
        """The app object of an in-process scan, else None. Read it, never change it."""
        return self._state.app

    @property
    def user_headers(self) -> tuple[tuple[str, str], ...]:
        """The headers the user gave with ``-H`` (sent on every probe already)."""
        return self._state.user_headers

    @property
    def user_cookie(self) -> str | None:
        """The cookies the user gave with ``-b`` (sent on every probe already)."""
        return self._state.user_cookie

    @property
    def budget_left(self) -> int:
        return self._state.engine.budget_left

    # -- I/O through the engine ---------------------------------------------
    async def send(self, probe: Probe) -> Exchange | None:
        """Send one probe; None when it failed, was out of scope or over budget."""
        return await self._state.engine.send(probe)

    async def tls_handshake(self, hello: TlsHello) -> TlsResult | None:
        """One raw TLS handshake with the target (no HTTP); None when not attempted."""
        return await self._state.engine.tls_handshake(hello)

    def receiver(self) -> AbstractAsyncContextManager[Receiver | None]:
        """``async with ctx.receiver() as r``: the engine's loopback receiver, or None
        (the target does not run on this machine, or the budget is spent)."""
        return self._state.engine.receiver()

    async def get(
        self,
        path: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        raw: bool = False,
        method: str = "GET",
        follow_redirects: bool = True,
        anonymous: bool = False,
    ) -> Exchange | None:
        """GET a path on the target ("/x?y=1") or an absolute in-scope URL.

        With ``raw=True`` the path goes onto the request line byte for byte.
        """
        if path.startswith(("http://", "https://")):
            url, raw_target = path, None
        else:
            url = self.target.url_for(path if path.startswith("/") else "/" + path)
            raw_target = path if raw else None
            if raw:
                url = self.target.origin + "/"
        return await self.send(
            Probe(
                url=url,
                method=method,
                headers=tuple(headers),
                raw_target=raw_target,
                follow_redirects=follow_redirects,
                anonymous=anonymous,
            )
        )

    async def offload(self, fn: Callable[..., T], *args: Any, label: str | None = None) -> T | None:
        """``fn(*args)`` in the analysis pool, for heavy parsing of a body.

        ``fn`` must be a module-level function. Returns None when the item was dropped
        (over the scan's CPU deadline or size cap), which the report's errors name.
        """
        from apigrade.engine import offload

        return await offload.run(
            fn, *args, deadline=self._state.cpu_deadline, errors=self._state.errors,
            label=label or f"{self.check_id}: {getattr(fn, '__name__', 'analysis')}",
        )  # fmt: skip

    async def is_soft404(self, exchange: Exchange) -> bool:
        """True when the response looks like what the target says for any missing path."""
        return await self._state.baseline.is_soft404(exchange)

    # -- output -------------------------------------------------------------
    def report(self, hit: Hit) -> None:
        """Record a finding for this check (or for ``hit.check``)."""
        self._sink(hit.check or self.check_id, hit)
