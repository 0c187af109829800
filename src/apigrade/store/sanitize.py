"""What may be stored: reports with the user's credentials masked, options without values."""

from __future__ import annotations

from typing import Any

from apigrade.engine.scanner import ScanOptions
from apigrade.model import ScanReport
from apigrade.redact import Redactor, shown_url


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


def _names(pairs: list[tuple[str, str]]) -> list[str]:
    return [name for name, _ in pairs]


def _cookie_names(cookie: str | None) -> list[str]:
    return [p.partition("=")[0].strip() for p in (cookie or "").split(";") if "=" in p]


def stored_options(options: ScanOptions) -> dict[str, Any]:
    """The scan options worth keeping for ``verify``: header and cookie names, never values."""
    red = redactor_for(options)
    return {
        "header_names": _names(options.headers),
        "cookie_names": _cookie_names(options.cookie),
        "identities": {k: _names(v) for k, v in options.identities.items()},
        "insecure": options.insecure,
        "spec": red.text(shown_url(options.spec, "")) if options.spec else None,
        "active": options.active,
        "wordlist": options.wordlist,
        "max_requests": options.max_requests,
        "concurrency": options.concurrency,
        "rate": options.rate,
        "timeout": options.timeout,
        "scope": list(options.scope),
        "skip": list(options.skip),
    }


def options_from_stored(data: dict[str, Any]) -> ScanOptions:
    """Scan options rebuilt from :func:`stored_options` (credentials must be given again)."""
    opts = ScanOptions()
    for name in ("insecure", "spec", "active", "wordlist", "max_requests", "concurrency",
                 "rate", "timeout", "scope", "skip"):  # fmt: skip
        if name in data and data[name] is not None:
            setattr(opts, name, data[name])
    return opts


def missing_credentials(data: dict[str, Any], options: ScanOptions) -> list[str]:
    """Header and cookie names the stored scan sent that ``options`` does not."""
    given = {n.lower() for n in _names(options.headers)}
    missing = [n for n in data.get("header_names", []) if n.lower() not in given]
    cookies = set(_cookie_names(options.cookie))
    missing += [f"cookie {n}" for n in data.get("cookie_names", []) if n not in cookies]
    return missing
