"""Check metadata and the registry that collects every check at import."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apigrade import catalogue, rx
from apigrade.checks.knowledge_base import KB_FIELDS
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
    #: knowledge-base fields it reads (immutable copies) and writes (live values)
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.meta.id


def _kb_names(owner: str, what: str, names: object) -> tuple[str, ...]:
    """Declared knowledge-base field names, validated (a typo is an error at import)."""
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise RegistryError(f"check {owner!r}: {what} must be a tuple of field names")
    out = tuple(names)
    unknown = sorted(str(n) for n in out if n not in KB_FIELDS)
    if unknown:
        raise RegistryError(
            f"check {owner!r}: {what} names unknown knowledge-base field(s) "
            f"{', '.join(map(repr, unknown))} (known: {', '.join(sorted(KB_FIELDS))})"
        )
    return out


def _kb_phase(check: Check) -> int:
    """When a check's knowledge-base access happens: passive checks count as phase 0."""
    return 0 if check.kind == "passive" else check.phase


def _phase_name(check: Check) -> str:
    return "passive" if check.kind == "passive" else f"phase {check.phase}"


class Registry:
    """All checks by id. Registration rejects duplicates and incomplete metadata.

    It also rejects a phase order that cannot work. Checks declare the knowledge-base
    fields they read and write (``reads=``/``writes=``); a check that reads a field
    another check writes must run in a later phase than every *active* writer of it.
    Passive checks and the engine's discovery (declared with ``declare_engine``) count
    as phase 0, earlier than phase 1; a passive reader counts as phase 0 too, so it
    cannot read what an active check writes. A check may read what it writes itself
    (a field it writes is live to it). The rule is checked whenever a check is added,
    so built-in checks, plugins and checks added at run time all pass through it.
    """

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._engine: dict[str, tuple[str, ...]] = {}  # engine part -> fields it writes
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
        _kb_names(check.id, "reads", check.reads)
        _kb_names(check.id, "writes", check.writes)
        if check.id not in self._metas:
            problems = self.kb_order_problems([*self._checks.values(), check], check.id)
            if problems:
                raise RegistryError(problems[0])
        self.add_meta(check.meta)
        self._checks[check.id] = check
        return check

    def runnable(self, check_id: str) -> Check | None:
        """The runnable check ``check_id`` (None for a finding kind or an unknown id)."""
        return self._checks.get(check_id)

    def declare_engine(self, name: str, *, writes: Iterable[str]) -> None:
        """Declare the knowledge-base fields a part of the engine writes (phase 0)."""
        self._engine[name] = _kb_names(name, "writes", writes)

    def kb_writers(self, name: str) -> list[str]:
        """Who writes knowledge-base field ``name``: engine parts, then checks by id."""
        return [e for e, ws in self._engine.items() if name in ws] + [
            c.id for c in self.checks() if name in c.writes
        ]

    def kb_readers(self, name: str) -> list[str]:
        """The checks that declare they read knowledge-base field ``name``."""
        return [c.id for c in self.checks() if name in c.reads]

    def kb_order_problems(
        self, checks: Iterable[Check] | None = None, involving: str | None = None
    ) -> list[str]:
        """Every read that cannot see a write it depends on (see the class docstring);
        only pairs that include ``involving`` when it is given."""
        pool = list(self._checks.values() if checks is None else checks)
        problems = []
        for reader in pool:
            for name in reader.reads:
                for writer in pool:
                    if (
                        writer.id == reader.id
                        or name not in writer.writes
                        or writer.kind != "active"
                        or involving not in (None, reader.id, writer.id)
                    ):
                        continue
                    if _kb_phase(reader) <= writer.phase:
                        problems.append(
                            f"check {reader.id!r} ({_phase_name(reader)}) reads ctx.kb.{name}, "
                            f"which {writer.id!r} writes in phase {writer.phase}: "
                            f"give {reader.id!r} phase={writer.phase + 1} or later"
                        )
        return problems

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

#: the phase of checks that end the scan's session (logout): after every other phase,
#: so the others keep their session (``@active(phase=LAST_PHASE)``)
LAST_PHASE = 9


#: the long text of a check: from its decorator or from the catalogue, exactly one
PROSE = ("description", "remediation", "references")
_from_catalogue: set[str] = set()  # ids whose prose came from the catalogue


def _meta(kw: dict[str, Any]) -> CheckMeta:
    check_id = kw.get("id")
    entry = catalogue.prose(check_id) if isinstance(check_id, str) else None
    given = [k for k in PROSE if k in kw]
    if entry is not None:
        if given:
            raise RegistryError(
                f"check {check_id!r}: {', '.join(given)} given both in the decorator and in "
                "the catalogue; keep one"
            )
        kw = {**kw, "description": entry.description, "remediation": entry.remediation,
              "references": entry.references}  # fmt: skip
    elif not given:
        raise RegistryError(
            f"check {check_id!r}: no description or remediation: add a table "
            f"[{check_id!r}] to apigrade/data/catalogue/ (or, in a plugin, pass them here)"
        )
    try:
        meta = CheckMeta(**kw)
    except TypeError as exc:
        raise RegistryError(f"check {check_id!r}: {exc}") from None
    if entry is not None:
        _from_catalogue.add(meta.id)
    return meta


def verify_catalogue() -> None:
    """Every catalogue entry belongs to a registered check that took its prose from it."""
    catalogue.verify((m.id for m in REGISTRY.metas()), _from_catalogue)


def passive(
    *, reads: Iterable[str] = (), writes: Iterable[str] = (), **kw: Any
) -> Callable[[PassiveFn], PassiveFn]:
    """Declare a passive check: ``fn(exchange, ctx) -> Iterable[Hit]``, pure apart from
    the knowledge-base fields it declares in ``writes``."""
    owner = str(kw.get("id"))
    rs, ws = _kb_names(owner, "reads", reads), _kb_names(owner, "writes", writes)

    def wrap(fn: PassiveFn) -> PassiveFn:
        REGISTRY.add(Check(meta=_meta(kw), kind="passive", fn=fn, reads=rs, writes=ws))
        return fn

    return wrap


def active(
    *, phase: int = 1, reads: Iterable[str] = (), writes: Iterable[str] = (), **kw: Any
) -> Callable[[ActiveFn], ActiveFn]:
    """Declare an active check: ``async fn(ctx)`` that asks the engine for probes.

    Phase 1 checks run together after discovery; phase 2 checks run after them and
    can read what phase 1 learned: ``ctx.kb`` fields named in ``reads`` (and its own
    ``writes``). The registry rejects a read that runs no later than its writer.
    """

    owner = str(kw.get("id"))
    rs, ws = _kb_names(owner, "reads", reads), _kb_names(owner, "writes", writes)

    def wrap(fn: ActiveFn) -> ActiveFn:
        REGISTRY.add(Check(meta=_meta(kw), kind="active", fn=fn, phase=phase, reads=rs, writes=ws))
        return fn

    return wrap


def finding_kind(*, parent: str | tuple[str, ...] | None = None, **kw: Any) -> CheckMeta:
    """Declare a finding kind reported by another check (``ctx.report(..., check=ID)``).

    ``parent`` names the runnable check (or checks) that report it: ``REGISTRY.emitters``
    (used by ``apigrade verify``) maps the kind to them. A kind without one is rejected.
    """
    return REGISTRY.add_kind(_meta(kw), parent)
