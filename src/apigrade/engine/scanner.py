"""The scan: reachability, discovery, fingerprint, checks in phases, score."""

from __future__ import annotations

import asyncio
import ssl
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from apigrade import __version__
from apigrade.checks import load_checks
from apigrade.checks.context import CheckContext, Hit, ScanState
from apigrade.checks.registry import REGISTRY, Check
from apigrade.engine import offload
from apigrade.engine.analysis import CheckRef, Setup, ref_of
from apigrade.engine.baseline import SoftNotFound
from apigrade.engine.checkset import CheckSet, DiscoverySettings
from apigrade.engine.client import Engine, EngineConfig
from apigrade.engine.discover import Discoverer
from apigrade.engine.http import Exchange
from apigrade.engine.passive import PassiveAnalyses
from apigrade.engine.target import Target
from apigrade.engine.transports import ASGIAppTransport, WSGIAppTransport, transport_for
from apigrade.errors import TargetError, UsageError
from apigrade.fingerprint import FpInput, fingerprint
from apigrade.inprocess.locations import Locator
from apigrade.model import (
    Discovery,
    Finding,
    Fingerprint,
    IdentityUse,
    ScanReport,
    ToolInfo,
    finding_id,
)
from apigrade.redact import Redactor, describe_error, remember, scan_secrets
from apigrade.scan_options import ScanOptions
from apigrade.scoring import score_report

Progress = Callable[[str, int, int, int], None]
IN_PROCESS_URL = "http://testserver/"
#: findings of the in-process configuration audit carry their own locations
APP_CONFIG_FAMILY = "app-config."


class Scan:
    """One scan of one target, built from explicit parts. Use :func:`build_scan` or
    :func:`run_scan`.

    ``checks`` defaults to the registry filtered by ``options.only``/``options.skip``;
    ``discovery`` to probing the usual spec locations. The progress total follows from
    the checks (:attr:`total`).
    """

    def __init__(
        self,
        target: Target,
        options: ScanOptions,
        transport: httpx.AsyncBaseTransport | None = None,
        progress: Progress | None = None,
        *,
        checks: CheckSet | None = None,
        discovery: DiscoverySettings | None = None,
        app: Any = None,
    ) -> None:
        load_checks()
        target = target.with_origins(options.scope)
        self.target = target
        self.options = options
        self.progress = progress
        self.findings: dict[str, Finding] = {}
        self.errors: list[str] = []
        self.redactor = Redactor.for_scan(options)  # every value the user gave is a secret
        remember(scan_secrets(options))
        config = EngineConfig(
            concurrency=options.concurrency,
            rate=options.rate,
            timeout=options.timeout,
            max_requests=options.max_requests,
            headers=tuple(options.headers),
            cookie=options.cookie,
            verify_tls=not options.insecure,
            active=options.active,
        )
        self.engine = Engine(target, config, transport=transport, on_exchange=self._on_exchange)
        self.state = ScanState(
            target=target,
            engine=self.engine,
            baseline=SoftNotFound(target.origin, self.engine.send),
            active=options.active,
            wordlist=options.wordlist,
            identities={k: tuple(v) for k, v in options.identities.items()},
            user_headers=tuple(options.headers),
            user_cookie=options.cookie,
            in_process=isinstance(transport, WSGIAppTransport | ASGIAppTransport),
            cpu_deadline=options.cpu_deadline,
            errors=self.errors,
            app=app,
        )
        self.sessions = self._sessions(options)
        self._skip = frozenset(options.skip)
        if checks is None:
            checks = CheckSet.registered(options.only, self._skip)
        self.checks = checks
        self.discovery = discovery or DiscoverySettings()
        self.passive = self.checks.passive
        self.active_checks = self.checks.active
        self.analyses = self._passive_analyses()
        self._done = 0
        self._discovered = False
        self._discoverer: Discoverer | None = None
        self._locator: Locator | None = None

    def _sessions(self, options: ScanOptions) -> Any:
        """The declared identities (``--auth``), installed as the engine's session hook."""
        if not options.auth:
            return None
        from apigrade.auth.config import load_auth
        from apigrade.auth.session import Sessions

        sessions = Sessions(load_auth(options.auth), self.state, self.engine)
        self.engine.session = sessions
        return sessions

    async def _login(self) -> None:
        """Log every declared identity in (before discovery); a failure ends the scan (exit 3)."""
        if self.sessions is None:
            return
        from dataclasses import replace

        self.sessions.on_secrets = self._add_secrets
        await self.sessions.login_all()
        ids = {k: tuple(v) for k, v in self.state.identities.items()}
        self.analyses.setup = replace(self.analyses.setup, identities=ids)

    def _add_secrets(self, secrets: list[str]) -> None:
        """Secrets a login produced (tokens, session cookies) are masked from now on."""
        self.redactor = self.redactor.merged(Redactor.of(secrets))

    @property
    def total(self) -> int:
        """The progress callback's denominator: discovery plus each active check."""
        return self.checks.progress_total

    def responses(self) -> tuple[Exchange, ...]:
        """The responses the scan has received so far (bodies capped as retained)."""
        return tuple(self.state.exchanges)

    # -- findings -------------------------------------------------------------
    def _sink(self, check_id: str, hit: Hit) -> None:
        if check_id in self._skip:  # a skipped finding kind of a check that still runs
            return
        meta = REGISTRY.meta(check_id)
        red = self.redactor
        parameter = red.text(hit.parameter) if hit.parameter is not None else None
        fid = finding_id(check_id, hit.url, parameter)
        if fid in self.findings:
            return
        self.findings[fid] = Finding(
            id=fid,
            check_id=check_id,
            title=red.text(hit.title or meta.title),
            severity=hit.severity or meta.severity,
            confidence=hit.confidence or meta.confidence,
            category=meta.category,
            owasp=meta.owasp,
            cwe=meta.cwe,
            url=red.text(hit.url),
            method=hit.method.upper(),
            parameter=parameter,
            evidence=red.text(hit.evidence)[:2000],
            description=red.text(hit.description or meta.description),
            remediation=red.text(hit.remediation or meta.remediation),
            location=hit.location,
        )

    def _located(self, finding: Finding) -> Finding:
        """In-process: a finding on a route gets its handler's file and line (in the project)."""
        table = self._discoverer.app_table if self._discoverer else None
        if finding.location is not None or table is None or not table.routes:
            return finding
        if finding.check_id.startswith(APP_CONFIG_FAMILY):
            return finding  # configuration: its own location (the assignment) or none
        path = unquote(urlsplit(finding.url).path) or "/"
        route = next((r for r in table.routes if r.template == path), None)  # a template URL
        route = route or table.match(path, finding.method)
        if route is None or route.handler is None:
            return finding
        if self._locator is None:
            self._locator = Locator.for_app(self.state.app)
        location = self._locator.of_callable(route.handler)
        return finding.model_copy(update={"location": location}) if location else finding

    def _ctx(self, check: Check) -> CheckContext:
        return CheckContext(self.state, check.id, self._sink)

    def _on_exchange(self, exchange: Exchange) -> None:
        kept = self.engine.retain(exchange)
        assert kept is not None
        self.state.exchanges.append(kept)
        self.analyses.submit(exchange)

    def _failed(self, check_id: str, exc: BaseException) -> None:
        """A passive check raised (in the pool or here): one line, the scan goes on."""
        why = describe_error(exc, self.redactor)
        self.errors.append(f"check {check_id} failed: {why}"[:300])

    def _passive_analyses(self) -> PassiveAnalyses:
        """Passive checks run in the analysis pool; ones a worker cannot import run here."""
        refs: list[CheckRef] = []
        local: list[tuple[Check, Callable[[Check], CheckContext]]] = []
        for check in self.passive:
            ref = ref_of(check.id, check.fn)
            if ref is None:
                local.append((check, self._ctx))
            else:
                refs.append(ref)
        st = self.state
        setup = Setup(
            target=st.target, checks=tuple(refs), active=st.active, identities=st.identities,
            user_headers=st.user_headers, user_cookie=st.user_cookie, in_process=st.in_process,
            sys_path=tuple(sys.path),
        )  # fmt: skip
        return PassiveAnalyses(
            setup, st.kb, self._sink, self._failed, self.errors, self.options.cpu_deadline, local
        )

    def _tick(self, label: str) -> None:
        self._done += 1
        if self.progress is not None:
            self.progress(label, self._done, self.total, self.engine.requests_sent)

    async def _run_check(self, check: Check) -> None:
        try:
            await check.fn(self._ctx(check))
        except Exception as exc:  # noqa: BLE001 - a broken check never ends a scan
            why = describe_error(exc, self.redactor)
            self.errors.append(f"check {check.id} failed: {why}"[:300])
        finally:
            self._tick(check.id)

    # -- the scan -------------------------------------------------------------
    async def run(self) -> ScanReport:
        self._started = datetime.now(UTC)
        self._t0 = time.monotonic()
        offload.warm()  # workers start while the first requests are in flight
        async with self.engine:
            try:
                await self._reach()
                await self._login()
                probe = self.discovery.probe_specs
                self._discoverer = Discoverer(
                    self.state, self.options.spec, probe_specs=probe,
                    app_routes=self.discovery.grey_box,
                )  # fmt: skip
                await self._discoverer.run()
                self._discovered = True
                await self.analyses.drain()
                await self._fingerprint()
                self._tick("discovery")
                for phase in sorted({c.phase for c in self.active_checks}):
                    batch = [c for c in self.active_checks if c.phase == phase]
                    await asyncio.gather(*(self._run_check(c) for c in batch))
                    await self.analyses.drain()  # the next phase reads what they added
                await self._fingerprint()
            except asyncio.CancelledError:
                self.errors.append("scan interrupted: the report is partial")
                raise
            finally:
                self.analyses.close()
        return self._report(self._started, time.monotonic() - self._t0)

    def partial_report(self) -> ScanReport:
        """What the scan found so far (after an interruption), marked incomplete."""
        started = getattr(self, "_started", datetime.now(UTC))
        elapsed = time.monotonic() - getattr(self, "_t0", time.monotonic())
        report = self._report(started, elapsed)
        return report.model_copy(update={"complete": False})

    async def _reach(self) -> None:
        try:
            ex = await self.engine.check_reachable()
        except httpx.ConnectError as exc:
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, ssl.SSLError) or "SSL" in str(exc) or "certificate" in str(exc):
                raise TargetError(f"TLS failure with {self.target.origin}: {exc}") from None
            raise TargetError(f"cannot connect to {self.target.origin}: {exc or 'refused'}") from None
        except (httpx.TimeoutException, TimeoutError):
            raise TargetError(f"{self.target.origin} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise TargetError(
                f"cannot scan {self.target.origin}: {describe_error(exc, self.redactor)}"
            ) from None
        if ex is None:
            raise TargetError(f"{self.target.url} is out of scope or over budget")

    async def _fingerprint(self) -> None:
        """Fingerprint the first 200 responses in the pool (kept as it was when dropped)."""
        inputs = [
            FpInput(
                status=ex.status,
                headers=ex.response.headers,
                body=ex.text[:20000],
                cookies=[c.name for c in ex.response.cookies],
            )
            for ex in self.state.exchanges[:200]
        ]
        result = await offload.run(
            fingerprint, inputs, deadline=self.options.cpu_deadline, label="fingerprinting",
            errors=self.errors,
        )  # fmt: skip
        if result is None:
            return
        self.state.server = result.server
        self.state.frameworks = list(result.frameworks)
        self.state.versions = dict(result.versions)

    def _report(self, started: datetime, duration: float) -> ScanReport:
        sev_order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
        findings = sorted(
            (self._located(f) for f in self.findings.values()),
            key=lambda f: (sev_order[f.severity], f.check_id, f.url),
        )
        score, grade, per = score_report(findings)
        errors = [self.redactor.text(e) for e in self.errors + self.engine.stats.errors[:50]]
        if self.engine.stats.skipped:
            errors.append(
                f"target stopped answering: {self.engine.stats.skipped} probes skipped after "
                f"{self.engine.FAILURE_LIMIT} failures in a row"
            )
        return ScanReport(
            tool=ToolInfo(version=__version__),
            target=self.redactor.text(self.target.url),
            started_at=started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            duration_s=round(duration, 3),
            requests_sent=self.engine.requests_sent,
            score=score,
            grade=grade,
            categories=per,
            fingerprint=Fingerprint(server=self.state.server, frameworks=self.state.frameworks),
            findings=findings,
            errors=errors,
            complete=not self.engine.stats.skipped,
            discovery=self._discovery(),
            identities=self._identities(),
        )

    def _identities(self) -> list[IdentityUse] | None:
        """Which declared identities were used, how their logins went, their requests."""
        if self.sessions is None:
            return None
        return [IdentityUse.model_validate(row) for row in self.sessions.summary()]

    def _discovery(self) -> Discovery | None:
        """What discovery learned (None until it finished), masked like everything else."""
        if not self._discovered:
            return None
        specs = [self.redactor.text(str(u)) for u in self.state.kb.specs]
        disc = self._discoverer
        table = disc.app_table if disc else None
        if table is None:
            return Discovery(specs=specs, endpoints=len(self.state.endpoints))
        return Discovery(
            specs=specs, endpoints=len(self.state.endpoints), app_routes=len(table.routes),
            discovered=disc.discovered if disc else None,
        )  # fmt: skip


def build_scan(
    target: Any,
    options: ScanOptions | None = None,
    *,
    checks: CheckSet | None = None,
    discovery: DiscoverySettings | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
    base_url: str = IN_PROCESS_URL,
) -> Scan:
    """A scan of a URL, or of an app object in-process at ``base_url``, ready to ``run()``.

    Every part is explicit: the options, the checks (default: the registry filtered by
    ``options.only``/``options.skip``), the discovery settings, the transport and the
    progress callback.
    """
    options = options or ScanOptions()
    if options.signatures:
        from pathlib import Path

        from apigrade.checks.plugins import use_signatures

        for folder in options.signatures:  # before the checks are chosen; loaded once
            use_signatures(Path(folder))
    app = None
    if isinstance(target, str):
        tgt = Target.parse(target)
    elif callable(target):
        tgt = Target.parse(base_url)
        transport = transport or transport_for(target)
        if (discovery or DiscoverySettings()).grey_box:
            app = target  # read-only: route table, live configuration, source locations
    else:
        raise UsageError("scan target must be a URL or a WSGI/ASGI app")
    return Scan(tgt, options, transport, progress, checks=checks, discovery=discovery, app=app)


async def run_scan(
    target: Any,
    options: ScanOptions | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    progress: Progress | None = None,
    base_url: str = IN_PROCESS_URL,
    on_start: Callable[[Scan], None] | None = None,
    discovery: DiscoverySettings | None = None,
) -> ScanReport:
    """Scan a URL, or an app object in-process (WSGI or ASGI) at ``base_url``.

    ``on_start`` receives the :class:`Scan` before it runs, so that a caller can ask
    for ``partial_report()`` after an interruption.
    """
    scan = build_scan(target, options, transport=transport, progress=progress,
                      base_url=base_url, discovery=discovery)  # fmt: skip
    if on_start is not None:
        on_start(scan)
    return await scan.run()


def scan_sync(target: Any, **options: Any) -> ScanReport:
    """Blocking :func:`run_scan` for scripts and tests."""
    transport = options.pop("transport", None)
    base_url = options.pop("base_url", IN_PROCESS_URL)
    discovery = options.pop("discovery", None)
    return asyncio.run(
        run_scan(target, ScanOptions(**options), transport=transport, base_url=base_url,
                 discovery=discovery)  # fmt: skip
    )
