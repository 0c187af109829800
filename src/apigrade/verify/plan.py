"""What ``verify`` runs for a stored report: which checks, narrowed how, which URLs again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import apigrade.checks
from apigrade.checks.context import CheckContext
from apigrade.checks.registry import Check, CheckMeta
from apigrade.checks.signature import Signature, load_dir, run_signature
from apigrade.engine.checkset import CheckSet
from apigrade.model import Category, Confidence, Finding, ScanReport, Severity, normalise_url
from apigrade.target import Target
from apigrade.verify.checkmap import companions, emitters

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SIGNATURES = Path(apigrade.checks.__file__).parent / "signatures"
_REVISIT_META = CheckMeta(
    id="verify.revisit",
    title="Request the URLs of the findings being verified",
    category=Category.MISCONFIGURATION,
    severity=Severity.INFO,
    confidence=Confidence.CERTAIN,
    cwe=16,
    owasp="API8:2023",
    description="Internal to verify: passive checks see fresh responses. Never reports.",
    remediation="-",
)


@dataclass
class VerifyPlan:
    """The re-check of one baseline report."""

    checks: list[str]  # ids of the registered checks to run
    unmapped: list[Finding]  # no check of this version emits them: carried as still open
    passive_only: set[str]  # ids of findings only passive checks report
    revisit: list[tuple[str, str]]  # (method, url) requested again for those
    #: signature checks narrowed to the paths that matched: check id -> replacement
    narrowed: dict[str, Check] = field(default_factory=dict)

    def extra_checks(self) -> list[Check]:
        """Checks added to the scan besides the registered ones (the revisit)."""
        return [_revisit_check(self.revisit)] if self.revisit else []

    def check_set(self, skip: Iterable[str] = ()) -> CheckSet:
        """The scan's checks: the planned ones, signatures narrowed, the revisit added."""
        base = CheckSet.registered(only=self.checks, skip=skip)
        return base.replacing(self.narrowed).adding(self.extra_checks())


def plan(baseline: ScanReport, active: bool = False) -> VerifyPlan:
    """The checks to run and the URLs to revisit for the baseline's findings."""
    checks: dict[str, Check] = {}
    unmapped: list[Finding] = []
    passive_only: set[str] = set()
    revisit: dict[tuple[str, str], None] = {}
    target = Target.parse(baseline.target)
    for f in baseline.findings:
        found = emitters(f.check_id)
        if not found:
            unmapped.append(f)
            continue
        for c in found:
            checks[c.id] = c
            for extra in companions(c):
                checks[extra.id] = extra
        if not all(c.kind == "passive" for c in found):
            continue  # an active check sends its own probes
        passive_only.add(f.id)
        method = f.method.upper() if (f.method.upper() in SAFE_METHODS or active) else "GET"
        if target.in_scope(f.url):
            revisit[(method, f.url)] = None
    narrowed = narrow_signatures(target, baseline.findings, set(checks))
    return VerifyPlan(sorted(checks), unmapped, passive_only, list(revisit), narrowed)


def _signatures() -> dict[str, Signature]:
    return {s.meta.id: s for s in load_dir(SIGNATURES)}  # parsed once per process


def narrow_signatures(
    target: Target, findings: list[Finding], wanted: set[str]
) -> dict[str, Check]:
    """Signature checks that probe only the paths where they matched before.

    ``files.dotenv`` found ``/static/.env``: the re-check asks for that file, not for
    the other ten places a ``.env`` may hide. A path that cannot be matched to its
    finding (a raw request target) leaves the signature whole.
    """
    by_check: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        if f.check_id in wanted:
            by_check[f.check_id].add(normalise_url(f.url))
    if not by_check:
        return {}
    out: dict[str, Check] = {}
    for check_id, sig in _signatures().items():
        urls = by_check.get(check_id)
        if not urls:
            continue
        paths = tuple(p for p in sig.paths if normalise_url(target.url_for(p)) in urls)
        if not paths or len(paths) < len(urls):
            continue
        narrow = replace(sig, paths=paths, stop_at_first=False)
        out[check_id] = Check(meta=sig.meta, kind="active", fn=partial(_run_narrow, narrow))
    return out


async def _run_narrow(sig: Signature, ctx: CheckContext) -> None:
    await run_signature(sig, ctx)


def _revisit_check(urls: list[tuple[str, str]]) -> Check:
    async def revisit(ctx: CheckContext) -> None:
        for method, url in urls:
            await ctx.get(url, method=method, follow_redirects=False)

    return Check(meta=_REVISIT_META, kind="active", fn=revisit, phase=1)
