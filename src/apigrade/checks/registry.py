"""Check metadata and the registry that collects every check at import."""

from __future__ import annotations

import sys
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
        self._declared_in: dict[str, str] = {}  # finding kind id -> declaring module

    def add_meta(self, meta: CheckMeta, module: str | None = None) -> CheckMeta:
        """Register metadata only (a finding kind emitted by another check)."""
        if meta.id in self._metas:
            raise RegistryError(f"duplicate check id {meta.id!r}")
        self._metas[meta.id] = meta
        if module:
            self._declared_in[meta.id] = module
        return meta

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
        checks of the module that declared it (or that list it in ``emits``).
        """
        if kind_id in self._checks:
            return [self._checks[kind_id]]
        module = self._declared_in.get(kind_id)
        return [
            c
            for c in self.checks()
            if kind_id in c.emits or (module and getattr(c.fn, "__module__", None) == module)
        ]

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


def finding_kind(**kw: Any) -> CheckMeta:
    """Declare a finding kind reported by another check (``ctx.report(..., check=ID)``).

    Declare it in the module of the check that emits it: ``REGISTRY.emitters`` (used by
    ``apigrade verify``) maps the kind to that module's checks.
    """
    module = sys._getframe(1).f_globals.get("__name__")
    return REGISTRY.add_meta(_meta(kw), module=module)
