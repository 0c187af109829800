"""apigrade: a black-box security scanner for web APIs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from apigrade.model import ScanReport


def scan(target: Any, **options: Any) -> ScanReport:
    """Scan a URL, or a WSGI/ASGI app in-process, and return the report.

    ``scan(flask_app)`` needs no server and no network. Options are those of
    :class:`apigrade.engine.scanner.ScanOptions`.
    """
    from apigrade.engine.scanner import scan_sync

    return scan_sync(target, **options)


__all__ = ["__version__", "scan"]
