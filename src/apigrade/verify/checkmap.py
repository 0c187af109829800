"""Which runnable checks re-produce a finding kind (for ``verify``).

A finding's ``check_id`` is either a runnable check or a *finding kind* that some check
reports with ``Hit(check=...)``. Kinds are declared with ``finding_kind(parent=...)``,
naming the checks that emit them, which the registry records (``REGISTRY.emitters``).
"""

from __future__ import annotations

from collections import defaultdict

from apigrade.checks import load_checks
from apigrade.checks.registry import REGISTRY, Check


def _module(check: Check) -> str:
    return str(getattr(check.fn, "__module__", "") or "")


def emitters(kind: str) -> list[Check]:
    """The runnable checks that can report findings of ``kind`` (empty when unknown)."""
    load_checks()
    return REGISTRY.emitters(kind)


def companions(check: Check) -> list[Check]:
    """The active checks declared next to a passive one: the probes that provoke what it sees."""
    if check.kind != "passive":
        return []
    by_module: dict[str, list[Check]] = defaultdict(list)
    for c in REGISTRY.checks():
        by_module[_module(c)].append(c)
    return [c for c in by_module[_module(check)] if c.kind == "active"]
