"""Scan options on the wire: every :class:`ScanOptions` field to JSON and back, typed.

A Celery task carries its options as JSON, through the model's own serialiser pair
(:meth:`ScanOptions.to_json` writes every field, so a new option cannot be left behind;
:meth:`ScanOptions.from_json` checks each field's type and turns JSON lists back into the
tuples of ``headers`` and ``identities``). An option the worker does not know (a newer
submitter) is refused rather than dropped.

The payload holds the credentials the user gave (headers, cookie, identities): it lives
in the broker only, never in a log line (``argsrepr`` shows the URL) nor in a stored row
(:meth:`ScanOptions.stored` keeps names only).
"""

from __future__ import annotations

from typing import Any

from apigrade.scan_options import ScanOptions


def option_names() -> frozenset[str]:
    """The names of every scan option."""
    return frozenset(ScanOptions.model_fields)


def options_to_json(options: ScanOptions) -> dict[str, Any]:
    """Every field of ``options`` as JSON-ready values (tuples become lists)."""
    return options.to_json()


def options_from_json(data: dict[str, Any]) -> ScanOptions:
    """The options :func:`options_to_json` wrote; UsageError for an unknown or bad one."""
    return ScanOptions.from_json(data, reader="worker")
