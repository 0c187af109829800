"""``verify``: re-run only the checks behind a stored scan's findings, then compare.

The re-check is cheap because it skips everything that found nothing: the scan runs
with ``ScanOptions.only`` = the checks that emit the findings' kinds (plus, for passive
checks, the active checks of the same module that provoke what they observe); signature
checks ask only for the files they found; the URLs of findings only passive checks
report are requested again so that those checks see fresh responses. Discovery repeats
the first scan's, except that it does not probe for an OpenAPI document where the first
scan found none. See verify_plan.py.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from apigrade.engine.scanner import Progress, Scan, ScanOptions, run_scan
from apigrade.model import Finding, ScanReport
from apigrade.scoring import score_report
from apigrade.store.compare import Comparison, compare, ordered
from apigrade.store.verify_plan import VerifyPlan, plan


@dataclass
class VerifyResult:
    """The re-check: the merged report (to store) and its comparison with the baseline."""

    report: ScanReport
    comparison: Comparison
    not_rechecked: list[Finding] = field(default_factory=list)


#: Handed to discovery when the first scan found no spec: same endpoints, no spec probing.
EMPTY_SPEC = {"openapi": "3.0.3", "info": {"title": "apigrade verify", "version": "1"}, "paths": {}}


def no_spec_was_found(stored: dict[str, Any]) -> bool:
    """True when the stored scan's discovery probed for specs and found none."""
    discovery = stored.get("discovery")
    return isinstance(discovery, dict) and discovery.get("specs") == []


@contextmanager
def _spec_file(doc: dict[str, Any]) -> Iterator[str]:
    fd, path = tempfile.mkstemp(prefix="apigrade-verify-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        yield path
    finally:
        os.unlink(path)


def _adjust(scan: Scan, the_plan: VerifyPlan) -> None:
    """Swap in the narrowed signature checks and add the revisit, before the scan runs.

    Without the scanner internals this expects, the re-check stays correct, only dearer
    (whole signatures) and more conservative (unobserved passive findings stay open).
    """
    active = getattr(scan, "active_checks", None)
    if not isinstance(active, list):
        return
    active[:] = [the_plan.narrowed.get(c.id, c) for c in active]
    extra = the_plan.extra_checks()
    active.extend(extra)
    if extra and isinstance(getattr(scan, "_total", None), int):
        scan._total += len(extra)  # the progress bar's denominator


def _observed(scan: Scan | None, finding: Finding) -> bool:
    """Did the re-check get a response from the finding's path?"""
    if scan is None:
        return False
    path = urlsplit(finding.url).path or "/"
    return any((urlsplit(ex.url).path or "/") == path for ex in scan.state.exchanges)


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
    ``skip_spec_probing``: the first scan found no OpenAPI document, so discovery gets an
    empty one instead of probing the usual spec locations again.
    """
    import asyncio

    the_plan = plan(baseline, options.active)
    captured: list[Scan] = []

    def started(scan: Scan) -> None:
        captured.append(scan)
        _adjust(scan, the_plan)
        if on_start is not None:
            on_start(scan)

    def execute(spec: str | None) -> ScanReport:
        opts = replace(options, only=the_plan.checks, spec=options.spec or spec)

        def factory(progress: Progress | None) -> Coroutine[Any, Any, ScanReport]:
            return run_scan(baseline.target, opts, progress=progress, on_start=started)

        if runner is not None:
            return runner(factory)
        return asyncio.run(factory(None))

    if skip_spec_probing and not options.spec:
        with _spec_file(EMPTY_SPEC) as path:
            fresh = execute(path)
    else:
        fresh = execute(None)
    return merge(baseline, fresh, the_plan, captured[0] if captured else None)


def merge(
    baseline: ScanReport, fresh: ScanReport, the_plan: VerifyPlan, scan: Scan | None
) -> VerifyResult:
    """The verify report: fresh findings plus the baseline's findings it could not re-check."""
    unmapped = {f.id for f in the_plan.unmapped}
    fresh_ids = {f.id for f in fresh.findings}
    carried = [
        f
        for f in baseline.findings
        if f.id not in fresh_ids
        and (f.id in unmapped or (f.id in the_plan.passive_only and not _observed(scan, f)))
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
