"""What may be stored: reports with the user's credentials masked, options without values."""

from __future__ import annotations

from typing import Any

from apigrade.model import ScanReport
from apigrade.redact import Redactor
from apigrade.scan_options import ScanOptions


def redactor_for(options: ScanOptions) -> Redactor:
    """The redactor for every credential the user gave (-H, -b, identities, URL userinfo)."""
    return Redactor.for_scan(options)


def _scrub(value: Any, red: Redactor) -> Any:
    if isinstance(value, str):
        return red.text(value)
    if isinstance(value, list):
        return [_scrub(v, red) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, red) for k, v in value.items()}
    return value


def redact_report(report: ScanReport, options: ScanOptions) -> ScanReport:
    """The report with every credential value masked, wherever it appears.

    The scanner masks them already; this second pass makes the store's promise
    independent of every check getting it right.
    """
    red = redactor_for(options)
    if not red.secrets:
        return report
    return ScanReport.model_validate(_scrub(report.model_dump(mode="json"), red))


def stored_options(options: ScanOptions) -> dict[str, Any]:
    """The scan options worth keeping for ``verify``: header and cookie names, never values
    (:meth:`ScanOptions.stored`)."""
    return options.stored()


def options_from_stored(data: dict[str, Any]) -> ScanOptions:
    """Scan options rebuilt from :func:`stored_options` (credentials must be given again)."""
    return ScanOptions.from_stored(data)


def missing_credentials(data: dict[str, Any], options: ScanOptions) -> list[str]:
    """Header and cookie names the stored scan sent that ``options`` does not."""
    return options.missing_credentials(data)
