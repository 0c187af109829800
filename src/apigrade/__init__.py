"""apigrade: a black-box security scanner for web APIs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from apigrade.model import ScanReport


def scan(target: Any, *, grey_box: bool = True, **options: Any) -> ScanReport:
    """Scan a URL, or a WSGI/ASGI app in-process, and return the report.

    ``scan(flask_app)`` needs no server and no network. For an app object it also tests
    every route of the app (Flask, Starlette/FastAPI, Django), audits its live
    configuration and gives findings source locations; ``grey_box=False`` scans the app
    the way a scan over the network would. Options are those of
    :class:`apigrade.engine.scanner.ScanOptions`.
    """
    from apigrade.engine.checkset import DiscoverySettings
    from apigrade.engine.scanner import scan_sync

    return scan_sync(target, discovery=DiscoverySettings(grey_box=grey_box), **options)


__all__ = ["__version__", "scan"]
