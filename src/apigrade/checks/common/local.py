"""Where the target runs (for the out-of-band SSRF method and the TLS checks).

The loopback receiver itself belongs to the engine (``apigrade.engine.receiver``);
a check asks for one with ``ctx.receiver()`` and opens no socket of its own.
"""

from __future__ import annotations

import ipaddress

from apigrade.checks.context import CheckContext
from apigrade.engine.receiver import MARKER

__all__ = ["MARKER", "in_process", "loopback_host", "runs_here"]


def in_process(ctx: CheckContext) -> bool:
    """True when the app is scanned in-process (no socket: nothing to connect to)."""
    return ctx.in_process


def loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def runs_here(ctx: CheckContext) -> bool:
    """The target runs on this machine: a loopback address, or an app scanned in-process."""
    return in_process(ctx) or loopback_host(ctx.target.host)
