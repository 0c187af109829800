"""Passive checks as they run in the analysis pool's workers (see ``engine/offload.py``).

A worker gets a batch of exchanges, the scan's settings and a copy of the knowledge
base; it runs every passive check on each exchange in order, as the event loop used
to, and returns the hits, the failures and what the checks added to the knowledge
base. The scanner merges that in the same order, so findings are the same as when
the checks ran in the loop. A check sees the copy through ``ctx.kb`` as it does in the
scanning process: only the fields it declared, read-only unless it declared the write
(the worker's registry holds the same declarations), so a delta only ever carries
declared writes.

Checks are named by (id, module, qualified name): a worker imports a module it does
not have yet (a check a test registered at run time), with the scanning process's
``sys.path``. A check object may name itself with an ``apigrade_ref`` of (module,
factory, *args): the worker calls ``factory(*args)`` (a passive signature: its file and
id). A check that cannot be named (defined in ``__main__`` or inside a function) is run
by the scanner itself, in its own process.
"""

from __future__ import annotations

import copy
import importlib
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, cast

from apigrade.checks import load_checks
from apigrade.checks.context import CheckContext, Hit, KnowledgeBase, ScanState
from apigrade.engine.http import Exchange
from apigrade.engine.target import Target
from apigrade.redact import describe_error

#: (check id, module, qualified name, *factory args) of a passive check function
CheckRef = tuple[str, ...]


def ref_of(check_id: str, fn: Callable[..., Any]) -> CheckRef | None:
    """How a worker finds ``fn``; None when it cannot (``__main__``, a closure)."""
    own = getattr(fn, "apigrade_ref", None)
    if isinstance(own, tuple) and all(isinstance(p, str) for p in own):
        return (check_id, *own)
    module = getattr(fn, "__module__", None) or ""
    qualname = getattr(fn, "__qualname__", None) or ""
    if module in ("", "__main__") or "<" in qualname or module not in sys.modules:
        return None
    return (check_id, module, qualname)


@dataclass(frozen=True)
class Setup:
    """What passive checks may read besides the exchange (fixed for a scan)."""

    target: Target
    checks: tuple[CheckRef, ...]
    active: bool = False
    identities: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    user_headers: tuple[tuple[str, str], ...] = ()
    user_cookie: str | None = None
    in_process: bool = False
    sys_path: tuple[str, ...] = ()


#: what a batch added to the knowledge base: a KnowledgeBase holding only the additions
#: (new list items, new set members, bools turned on, optional values newly set)
KbDelta = KnowledgeBase


@dataclass
class ItemResult:
    """One exchange: (finding kind, hit) in the order reported, and (check id, error)."""

    hits: list[tuple[str, Hit]] = field(default_factory=list)
    failures: list[tuple[str, BaseException]] = field(default_factory=list)


@dataclass
class BatchResult:
    items: list[ItemResult]
    kb: KbDelta


_resolved: dict[CheckRef, Callable[..., Any]] = {}


def _resolve(ref: CheckRef) -> Callable[..., Any]:
    fn = _resolved.get(ref)
    if fn is None:
        _, module, qualname, *args = ref
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        if args:
            obj = obj(*args)  # a factory: e.g. a passive signature by (file, id)
        fn = _resolved[ref] = cast(Callable[..., Any], obj)
    return fn


def _portable(exc: BaseException) -> BaseException:
    """The exception itself when it pickles, else a RuntimeError naming it."""
    try:
        pickle.dumps(exc)
    except Exception:  # noqa: BLE001 - any pickling trouble
        return RuntimeError(describe_error(exc))  # never the repr: it may hold request data
    return exc


def _state(setup: Setup, kb: KnowledgeBase) -> ScanState:
    # no engine or baseline here: passive checks read settings and the kb, send nothing
    return ScanState(
        target=setup.target,
        engine=cast(Any, None),
        baseline=cast(Any, None),
        active=setup.active,
        kb=kb,
        identities=setup.identities,
        user_headers=setup.user_headers,
        user_cookie=setup.user_cookie,
        in_process=setup.in_process,
    )


def _added(old: object, new: object) -> object:
    """The part of one field's ``new`` value that ``old`` lacked (empty/None: nothing)."""
    if isinstance(new, list) and isinstance(old, list):
        return new[len(old) :] if new[: len(old)] == old else [x for x in new if x not in old]
    if isinstance(new, set) and isinstance(old, set):
        return new - old
    if isinstance(new, bool):
        return new and not old
    return new if new != old else None


def _merged(current: object, added: object) -> object:
    """One field after a worker's additions (lists skip items already there)."""
    if isinstance(current, list) and isinstance(added, list):
        return current + [x for x in added if x not in current]
    if isinstance(current, set) and isinstance(added, set):
        return current | added
    if isinstance(added, bool):
        return bool(current) or added
    return current if added is None else added


def diff_kb(before: KnowledgeBase, after: KnowledgeBase) -> KbDelta:
    """What ``after`` added to ``before``, field by field."""
    delta = KbDelta()
    for f in fields(KbDelta):
        setattr(delta, f.name, _added(getattr(before, f.name), getattr(after, f.name)))
    return delta


def merge_kb(kb: KnowledgeBase, delta: KbDelta) -> None:
    """Apply a worker's additions to the scan's knowledge base (in place)."""
    for f in fields(KnowledgeBase):
        current, added = getattr(kb, f.name), getattr(delta, f.name)
        value = _merged(current, added)
        if isinstance(current, list) and isinstance(value, list):
            current[:] = value  # keep the object: checks may hold a reference
        elif isinstance(current, set) and isinstance(value, set):
            current |= value
        else:
            setattr(kb, f.name, value)


def run_passive(
    fn: Callable[..., Any], check_id: str, exchange: Exchange, ctx: CheckContext, out: ItemResult
) -> None:
    """One passive check on one exchange, as the scanner always ran it."""
    try:
        for hit in fn(exchange, ctx):
            out.hits.append((hit.check or check_id, hit))
    except Exception as exc:  # noqa: BLE001 - a broken check never ends a scan
        out.failures.append((check_id, _portable(exc)))


def analyse(setup: Setup, kb: KnowledgeBase, exchanges: list[Exchange]) -> BatchResult:
    """Every passive check of ``setup`` on each exchange, in order (runs in a worker)."""
    load_checks()  # once per worker (the forkserver normally did it already)
    for path in setup.sys_path:
        if path not in sys.path:
            sys.path.append(path)
    before = copy.deepcopy(kb)
    state = _state(setup, kb)
    items: list[ItemResult] = []
    for exchange in exchanges:
        out = ItemResult()
        items.append(out)

        def sink(kind: str, hit: Hit, out: ItemResult = out) -> None:
            out.hits.append((kind, hit))

        for ref in setup.checks:
            try:
                fn = _resolve(ref)
            except Exception as exc:  # noqa: BLE001 - reported like a failing check
                out.failures.append((ref[0], _portable(exc)))
                continue
            run_passive(fn, ref[0], exchange, CheckContext(state, ref[0], sink), out)
    return BatchResult(items=items, kb=diff_kb(before, kb))
