"""Check metadata and the registry that collects every check at import."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apigrade import rx
from apigrade.model import CATEGORY_OWASP, Category, Confidence, Severity

if TYPE_CHECKING:
    from apigrade.checks.context import CheckContext, Hit
    from apigrade.engine.http import Exchange

_ID = rx.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)+$")


class RegistryError(Exception):
    """A check with a duplicate id or incomplete metadata."""


@dataclass(frozen=True)
class CheckMeta:
    """Everything a check declares where it is defined."""

    id: str
    title: str
    category: Category
    severity: Severity
    confidence: Confidence
    cwe: int
    owasp: str
    description: str
    remediation: str
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        missing = [
            name
            for name in ("id", "title", "description", "remediation", "owasp")
            if not str(getattr(self, name) or "").strip()
        ]
        if missing:
            raise RegistryError(f"check {self.id!r}: missing {', '.join(missing)}")
        if not _ID.match(self.id):
            raise RegistryError(f"check id {self.id!r} must look like 'family.name'")
        # Coerce strings (from data files) into the enums; a bad value raises.
        try:
            object.__setattr__(self, "category", Category(self.category))
            object.__setattr__(self, "severity", Severity(self.severity))
            object.__setattr__(self, "confidence", Confidence(self.confidence))
        except ValueError as exc:
            raise RegistryError(f"check {self.id!r}: {exc}") from None
        if not isinstance(self.cwe, int) or self.cwe <= 0:
            raise RegistryError(f"check {self.id!r}: cwe must be a positive integer")
        if self.owasp not in CATEGORY_OWASP[self.category]:
            raise RegistryError(
                f"check {self.id!r}: OWASP id {self.owasp!r} does not fit "
                f"category {self.category.value!r}"
            )
        object.__setattr__(self, "references", tuple(self.references))


PassiveFn = Callable[["Exchange", "CheckContext"], Iterable["Hit"]]
ActiveFn = Callable[["CheckContext"], Awaitable[None]]


@dataclass(frozen=True)
class Check:
    """A registered check: passive (sees every response) or active (asks for probes)."""

    meta: CheckMeta
    kind: str  # "passive" | "active"
    fn: Any
    phase: int = 1
    #: checks this one's findings may also be reported under (siblings it owns)
    emits: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.meta.id


class Registry:
    """All checks by id. Registration rejects duplicates and incomplete metadata."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._metas: dict[str, CheckMeta] = {}
        self._parents: dict[str, tuple[str, ...]] = {}  # finding kind id -> reporting checks

    def add_meta(self, meta: CheckMeta) -> CheckMeta:
        """Register metadata only."""
        if meta.id in self._metas:
            raise RegistryError(f"duplicate check id {meta.id!r}")
        self._metas[meta.id] = meta
        return meta

    def add_kind(self, meta: CheckMeta, parent: str | Iterable[str] | None) -> CheckMeta:
        """Register a finding kind reported by the runnable check(s) ``parent``."""
        if meta.id in self._metas:
            raise RegistryError(f"duplicate check id {meta.id!r}")
        parents = (parent,) if isinstance(parent, str) else tuple(parent or ())
        if not parents or not all(isinstance(p, str) and _ID.match(p) for p in parents):
            raise RegistryError(
                f"finding kind {meta.id!r}: give parent='check.id', the check that reports it"
            )
        if meta.id in parents:
            raise RegistryError(f"finding kind {meta.id!r} cannot be its own parent")
        self.add_meta(meta)
        self._parents[meta.id] = parents
        return meta

    def parents(self, kind_id: str) -> tuple[str, ...]:
        """The checks declared as reporting the finding kind ``kind_id`` (empty for others)."""
        return self._parents.get(kind_id, ())

    def orphans(self) -> list[str]:
        """Finding kinds naming a parent that is not a registered runnable check."""
        return sorted(
            k for k, ps in self._parents.items() if any(p not in self._checks for p in ps)
        )

    def add(self, check: Check) -> Check:
        if check.kind not in ("passive", "active"):
            raise RegistryError(f"check {check.id!r}: unknown kind {check.kind!r}")
        self.add_meta(check.meta)
        self._checks[check.id] = check
        return check

    def meta(self, check_id: str) -> CheckMeta:
        return self._metas[check_id]

    def metas(self) -> list[CheckMeta]:
        """Every finding kind, sorted by id."""
        return [self._metas[k] for k in sorted(self._metas)]

    def checks(self) -> list[Check]:
        """Every runnable check, sorted by id."""
        return [self._checks[k] for k in sorted(self._checks)]

    def emitters(self, kind_id: str) -> list[Check]:
        """The runnable checks that report findings of ``kind_id``.

        A runnable check reports under its own id; a finding kind is reported by the
        checks named as its ``parent`` (or that list it in ``emits``).
        """
        if kind_id in self._checks:
            return [self._checks[kind_id]]
        parents = self._parents.get(kind_id, ())
        return [c for c in self.checks() if kind_id in c.emits or c.id in parents]

    def __contains__(self, check_id: object) -> bool:
        return check_id in self._metas

    def __len__(self) -> int:
        return len(self._metas)


REGISTRY = Registry()


def _meta(kw: dict[str, Any]) -> CheckMeta:
    try:
        return CheckMeta(**kw)
    except TypeError as exc:
        raise RegistryError(f"check {kw.get('id')!r}: {exc}") from None


def passive(**kw: Any) -> Callable[[PassiveFn], PassiveFn]:
    """Declare a passive check: ``fn(exchange, ctx) -> Iterable[Hit]``, pure."""

    def wrap(fn: PassiveFn) -> PassiveFn:
        REGISTRY.add(Check(meta=_meta(kw), kind="passive", fn=fn))
        return fn

    return wrap


def active(*, phase: int = 1, **kw: Any) -> Callable[[ActiveFn], ActiveFn]:
    """Declare an active check: ``async fn(ctx)`` that asks the engine for probes.

    Phase 1 checks run together after discovery; phase 2 checks run after them and
    can read what phase 1 learned (``ctx.kb``).
    """

    def wrap(fn: ActiveFn) -> ActiveFn:
        REGISTRY.add(Check(meta=_meta(kw), kind="active", fn=fn, phase=phase))
        return fn

    return wrap


def finding_kind(*, parent: str | tuple[str, ...] | None = None, **kw: Any) -> CheckMeta:
    """Declare a finding kind reported by another check (``ctx.report(..., check=ID)``).

    ``parent`` names the runnable check (or checks) that report it: ``REGISTRY.emitters``
    (used by ``apigrade verify``) maps the kind to them. A kind without one is rejected.
    """
    return REGISTRY.add_kind(_meta(kw), parent)
