"""``apigrade monitor``: re-scan a fleet on a schedule and alert a webhook on regressions.

An alert is sent for a target when, compared with its previous stored scan, its grade
dropped or a finding of high or critical severity appeared. The first scan of a target is
its baseline (no alert). The webhook receives a JSON POST signed with HMAC-SHA256 over the
exact body: ``X-Apigrade-Signature: sha256=<hex>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from apigrade import __version__, rx
from apigrade.errors import UsageError
from apigrade.fleet.results import Results
from apigrade.fleet.runner import FleetResult, run_fleet
from apigrade.fleet.targets import FleetTarget
from apigrade.model import ScanReport, Severity
from apigrade.redact import describe_error
from apigrade.report.escape import one_line
from apigrade.scan_options import ScanOptions

GRADES = "ABCDF"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_EVERY = rx.compile(r"^(\d+[smhd])+$")
_PART = rx.compile(r"(\d+)([smhd])")


def parse_every(text: str) -> float:
    """``"90s"``, ``"15m"``, ``"1h30m"``, ``"1d"`` -> seconds (at least 10)."""
    value = text.strip().lower()
    if not _EVERY.match(value):
        raise UsageError(f"bad --every {text!r}: use a duration such as 30m, 1h or 1h30m")
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(value))
    if seconds < 10:
        raise UsageError("--every must be at least 10s")
    return float(seconds)


def sign(secret: str, body: bytes) -> str:
    """The ``X-Apigrade-Signature`` value for a body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


@dataclass
class Alert:
    """A regression of one target between two scans."""

    target: str
    reasons: list[str]
    previous: ScanReport
    current: ScanReport
    new_findings: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        def ref(r: ScanReport) -> dict[str, Any]:
            return {"scan_id": r.scan_id, "score": r.score, "grade": r.grade}

        return {
            "event": "apigrade.regression",
            "delivery_id": uuid.uuid4().hex,
            "sent_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "target": self.target,
            "reasons": self.reasons,
            "previous": ref(self.previous),
            "current": ref(self.current),
            "new_findings": self.new_findings,
        }


def regressions(previous: ScanReport | None, current: ScanReport) -> Alert | None:
    """The alert for ``current`` against ``previous``, or None."""
    if previous is None:
        return None
    reasons: list[str] = []
    if GRADES.index(current.grade) > GRADES.index(previous.grade):
        reasons.append("grade-drop")
    seen = {f.id for f in previous.findings}
    new_high = [f for f in current.findings
                if f.severity.rank >= Severity.HIGH.rank and f.id not in seen]
    if new_high:
        reasons.append("new-high-finding")
    if not reasons:
        return None
    return Alert(
        target=current.target, reasons=reasons, previous=previous, current=current,
        new_findings=[
            {"id": f.id, "check_id": f.check_id, "title": f.title,
             "severity": f.severity.value, "url": f.url}
            for f in new_high
        ],
    )


class Monitor:
    """Scans the fleet every interval; compares each result with the target's previous scan."""

    def __init__(
        self,
        fleet: list[FleetTarget],
        base: ScanOptions,
        *,
        db_url: str | None = None,
        parallel: int = 4,
        per_host: int = 2,
        webhook: str | None = None,
        secret: str | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        if webhook is not None:
            if not webhook.startswith(("http://", "https://")):
                raise UsageError(f"bad --webhook {webhook!r}: expected an http(s) URL")
            if not secret:
                raise UsageError("--webhook needs a secret to sign its requests")
        self.fleet = fleet
        self.base = base
        self.results = Results(db_url)
        self.parallel = parallel
        self.per_host = per_host
        self.webhook = webhook
        self.secret = secret
        self.log = log
        self.sent = 0

    async def round(self) -> list[Alert]:
        """One scan of every target; alerts are sent before it returns."""
        outcomes = await run_fleet(self.fleet, self.base, parallel=self.parallel,
                                   per_host=self.per_host, results=self.results)
        alerts = [a for a in (self._compare(o) for o in outcomes) if a is not None]
        for alert in alerts:
            await self.notify(alert)
        ok = sum(o.status == "completed" for o in outcomes)
        self.log(f"apigrade: monitor: {len(outcomes)} targets, {ok} scanned, "
                 f"{len(alerts)} regressions")
        return alerts

    def _compare(self, outcome: FleetResult) -> Alert | None:
        if outcome.report is None or outcome.scan_id is None:
            return None
        previous = self.results.previous_report(outcome.target, outcome.scan_id)
        alert = regressions(previous, outcome.report)
        if alert is not None:
            self.log(f"apigrade: monitor: {one_line(alert.target)}: {', '.join(alert.reasons)} "
                     f"({previous.grade if previous else '-'} -> {outcome.report.grade})")
        return alert

    async def notify(self, alert: Alert, tries: int = 3) -> bool:
        """POST the signed alert; retried on network errors and 5xx answers."""
        if self.webhook is None or self.secret is None:
            return False
        body = json.dumps(alert.payload(), separators=(",", ":"), sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"apigrade/{__version__}",
            "X-Apigrade-Event": "regression",
            "X-Apigrade-Signature": sign(self.secret, body),
        }
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
            for attempt in range(tries):
                try:
                    response = await client.post(self.webhook, content=body, headers=headers)
                    if response.status_code < 500:
                        ok = response.status_code < 300
                        if not ok:
                            self.log(f"apigrade: monitor: webhook answered {response.status_code}")
                        self.sent += ok
                        return ok
                except httpx.HTTPError as exc:
                    self.log(f"apigrade: monitor: webhook failed: {describe_error(exc)}")
                await asyncio.sleep(0.5 * 2**attempt)
        return False

    async def run(self, interval: float, *, once: bool = False) -> None:
        """Rounds every ``interval`` seconds (measured start to start) until cancelled."""
        try:
            while True:
                started = time.monotonic()
                await self.round()
                if once:
                    return
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            self.results.close()
