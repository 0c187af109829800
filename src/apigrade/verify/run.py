"""``verify``: re-run only the checks behind a stored scan's findings, then compare.

The re-check is cheap because it skips everything that found nothing: the scan runs the
checks that emit the findings' kinds (plus, for passive checks, the active checks of the
same module that provoke what they observe); signature checks ask only for the files
they found; the URLs of findings only passive checks report are requested again so that
those checks see fresh responses. Discovery repeats the first scan's, except that it
does not probe for an OpenAPI document where the first scan found none. See plan.py.

Everything goes through the public scan API (:func:`apigrade.engine.scanner.build_scan`
with a :class:`CheckSet` and :class:`DiscoverySettings`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from apigrade.engine.checkset import DiscoverySettings
from apigrade.engine.scanner import Progress, Scan, build_scan
from apigrade.model import Finding, ScanReport
from apigrade.scan_options import ScanOptions
from apigrade.scoring import score_report
from apigrade.store.compare import Comparison, compare, ordered
from apigrade.verify.plan import VerifyPlan, plan


@dataclass
class VerifyResult:
    """The re-check: the merged report (to store) and its comparison with the baseline."""

    report: ScanReport
    comparison: Comparison
    not_rechecked: list[Finding] = field(default_factory=list)


def no_spec_was_found(stored: dict[str, Any]) -> bool:
    """True when the stored scan's discovery probed for specs and found none."""
    discovery = stored.get("discovery")
    return isinstance(discovery, dict) and discovery.get("specs") == []


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def seen_paths(scan: Scan) -> frozenset[str]:
    """The paths the scan got a response from."""
    return frozenset(_path(ex.url) for ex in scan.responses())


Runner = Callable[[Callable[[Progress], Coroutine[Any, Any, ScanReport]]], ScanReport]


def run_verify(
    baseline: ScanReport,
    options: ScanOptions,
    *,
    runner: Runner | None = None,
    on_start: Callable[[Scan], None] | None = None,
    skip_spec_probing: bool = False,
) -> VerifyResult:
    """Re-check ``baseline``'s findings against its target and compare.

    ``runner`` runs the scan coroutine (the CLI passes its progress bar); ``on_start``
    sees the Scan (the recorder uses it to keep a partial report on interruption).
    ``skip_spec_probing``: the first scan found no OpenAPI document, so discovery does
    not probe the usual spec locations again.
    """
    the_plan = plan(baseline, options.active)
    checks = the_plan.check_set(skip=options.skip)
    discovery = DiscoverySettings(probe_specs=not skip_spec_probing)
    scans: list[Scan] = []

    async def scan_once(progress: Progress | None) -> ScanReport:
        scan = build_scan(
            baseline.target, options, checks=checks, discovery=discovery, progress=progress
        )
        scans.append(scan)
        if on_start is not None:
            on_start(scan)
        return await scan.run()

    fresh = runner(scan_once) if runner is not None else asyncio.run(scan_once(None))
    return merge(baseline, fresh, the_plan, seen_paths(scans[0]) if scans else frozenset())


def merge(
    baseline: ScanReport, fresh: ScanReport, the_plan: VerifyPlan, seen: Iterable[str]
) -> VerifyResult:
    """The verify report: fresh findings plus the baseline's findings it could not re-check.

    ``seen``: the paths the re-check got a response from; a finding only passive checks
    report whose path was not among them stays open.
    """
    observed = frozenset(seen)
    unmapped = {f.id for f in the_plan.unmapped}
    fresh_ids = {f.id for f in fresh.findings}
    carried = [
        f
        for f in baseline.findings
        if f.id not in fresh_ids
        and (f.id in unmapped or (f.id in the_plan.passive_only and _path(f.url) not in observed))
    ]
    findings = ordered([*fresh.findings, *carried])
    score, grade, per = score_report(findings)
    report = fresh.model_copy(
        update={
            "target": baseline.target,
            "findings": findings,
            "score": score,
            "grade": grade,
            "categories": per,
            "scan_id": None,
        }
    )
    return VerifyResult(report, compare(baseline, report), carried)
