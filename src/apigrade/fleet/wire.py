"""Scan options on the wire: every :class:`ScanOptions` field to JSON and back, typed.

A Celery task carries its options as JSON. One function writes them (every dataclass
field, so a new option cannot be left behind) and one reads them back through pydantic,
which checks each field's type and turns JSON lists back into the tuples of ``headers``
and ``identities``. An option the worker does not know (a newer submitter) is refused
rather than dropped.

The payload holds the credentials the user gave (headers, cookie, identities): it lives
in the broker only, never in a log line (``argsrepr`` shows the URL) nor in a stored row
(:func:`apigrade.store.sanitize.stored_options` keeps names only).
"""

from __future__ import annotations

from dataclasses import fields
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from apigrade.engine.scanner import ScanOptions
from apigrade.errors import UsageError


@cache
def _adapter() -> TypeAdapter[ScanOptions]:
    return TypeAdapter(ScanOptions)


def option_names() -> frozenset[str]:
    """The names of every scan option."""
    return frozenset(f.name for f in fields(ScanOptions))


def options_to_json(options: ScanOptions) -> dict[str, Any]:
    """Every field of ``options`` as JSON-ready values (tuples become lists)."""
    out: dict[str, Any] = _adapter().dump_python(options, mode="json")
    return out


def options_from_json(data: dict[str, Any]) -> ScanOptions:
    """The options :func:`options_to_json` wrote; UsageError for an unknown or bad one."""
    unknown = sorted(set(data) - option_names())
    if unknown:
        raise UsageError(f"this worker does not know the scan option(s) {', '.join(unknown)}; "
                         "upgrade the worker")
    try:
        return _adapter().validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid"}
        where = ".".join(str(p) for p in first.get("loc", ())) or "options"
        raise UsageError(f"bad scan option {where}: {first.get('msg', 'invalid')}") from None

