"""The checks one scan runs, as a value, and the discovery settings of a scan."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from apigrade.checks import load_checks
from apigrade.checks.registry import REGISTRY, Check


@dataclass(frozen=True)
class CheckSet:
    """An ordered set of checks with unique ids.

    The default is the registry filtered by ``only`` and ``skip``; a caller may replace
    checks by id (e.g. a signature narrowed to fewer paths) and add its own.
    """

    checks: tuple[Check, ...] = ()

    def __post_init__(self) -> None:
        ids = [c.id for c in self.checks]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate check ids in a check set: {', '.join(dupes)}")

    @classmethod
    def registered(cls, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> CheckSet:
        """Every registered check, or only those named, minus the skipped ones."""
        load_checks()
        checks = REGISTRY.checks()
        if only is not None:
            wanted = set(only)
            checks = [c for c in checks if c.id in wanted]
        skipped = set(skip)
        return cls(tuple(c for c in checks if c.id not in skipped))

    def replacing(self, by_id: Mapping[str, Check]) -> CheckSet:
        """This set with each check whose id is a key swapped for its value, in place."""
        return CheckSet(tuple(by_id.get(c.id, c) for c in self.checks))

    def adding(self, extra: Iterable[Check]) -> CheckSet:
        """This set with more checks at the end; a taken id is a ValueError."""
        return CheckSet(self.checks + tuple(extra))

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.checks]

    @property
    def passive(self) -> list[Check]:
        return [c for c in self.checks if c.kind == "passive"]

    @property
    def active(self) -> list[Check]:
        return [c for c in self.checks if c.kind == "active"]

    @property
    def progress_total(self) -> int:
        """Steps the progress callback counts: discovery, then each active check."""
        return len(self.active) + 1


@dataclass(frozen=True)
class DiscoverySettings:
    """How discovery runs. The spec the user named stays ``ScanOptions.spec``.

    ``probe_specs=False``: do not request the well-known OpenAPI locations (``verify``
    when the first scan found no spec there); crawling, robots and sitemaps still run.
    ``grey_box=True`` (in-process scans of an app object; ``apigrade.scan(app)``, ``--app``
    and the pytest plugin set it): the app's own routes become endpoints, its live
    configuration is audited (``app-config.*``) and findings get source locations.
    False: an in-process scan discovers only what a socket scan would.
    """

    probe_specs: bool = True
    #: in-process scans: read the app object (routes, configuration, source lines); each
    #: readable route is fetched once, counted in the budget
    grey_box: bool = False
