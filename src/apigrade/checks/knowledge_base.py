"""The knowledge base checks share within one scan, and each check's declared view of it.

A check declares the fields it reads and writes (``@active(reads=..., writes=...)``);
``ctx.kb`` is then a :class:`KbView`: written fields are the live values, read fields are
immutable copies, and any other field raises :class:`KbAccessError` naming the check.
The registry uses the same declarations to check the order of phases
(``checks/registry.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any, NoReturn


@dataclass(frozen=True)
class DebuggerFacts:
    """What ``misconfiguration.werkzeug-debugger`` learned about an exposed debugger."""

    resource_url: str | None = None
    version_hint: str | None = None
    console_url: str | None = None
    console_unlocked: bool = False
    console_restricted: bool = False
    traceback_pages: tuple[str, ...] = ()


@dataclass
class KnowledgeBase:
    """Facts checks share within one scan (earlier phases write, later phases read).

    Each field is a list (grows by appending), a set (grows), a bool (only turns on)
    or an optional value (set once): ``engine.analysis`` merges a worker's additions
    generically over these fields, and ``tests/test_knowledge_base.py`` keeps it so.
    Who writes and reads a field is declared on the checks (``reads=``/``writes=``);
    ``REGISTRY.kb_writers(name)`` / ``kb_readers(name)`` list them.
    """

    # (key, where found)
    secret_keys: list[tuple[str, str]] = field(default_factory=list)
    # (token, where seen)
    tokens: list[tuple[str, str]] = field(default_factory=list)
    # page titles (wordlist seeds)
    words: set[str] = field(default_factory=set)
    # URLs of the OpenAPI documents found
    specs: list[str] = field(default_factory=list)
    # what the Werkzeug debugger check learned
    werkzeug_debugger: DebuggerFacts | None = None
    # values secrets.exposed-secret already reported (each reported once)
    reported_secrets: set[str] = field(default_factory=set)


#: every field name a check may declare
KB_FIELDS: frozenset[str] = frozenset(f.name for f in fields(KnowledgeBase))


class KbAccessError(Exception):
    """A check used a knowledge-base field it did not declare (or wrote a read-only one).

    Not an AttributeError on purpose: ``getattr(ctx.kb, name, default)`` must not hide it.
    """


def _denied(owner: str, name: str, why: str) -> NoReturn:
    raise KbAccessError(f"check {owner!r} {why} ctx.kb.{name}: declare it with {_hint(why)}")


def _hint(why: str) -> str:
    return "writes=(...) on its decorator" if "write" in why else "reads=(...) on its decorator"


class _ReadOnly:
    """Mutating methods of a read-only copy raise a clear error instead of AttributeError."""

    _MUTATORS = frozenset(
        ("append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse",
         "add", "discard", "update", "difference_update", "intersection_update",
         "symmetric_difference_update")
    )  # fmt: skip
    _owner = ""
    _field = ""

    def __getattr__(self, name: str) -> Any:
        if name in self._MUTATORS:
            _denied(self._owner, self._field, "may only read, not write,")
        raise AttributeError(name)


class ReadOnlyList(_ReadOnly, tuple):
    """An immutable copy of a list field, for a check that only reads it."""


class ReadOnlySet(_ReadOnly, frozenset):
    """An immutable copy of a set field, for a check that only reads it."""


def _frozen(value: Any, owner: str, name: str) -> Any:
    if isinstance(value, list | set):
        copy: _ReadOnly = (ReadOnlyList if isinstance(value, list) else ReadOnlySet)(value)
        copy._owner, copy._field = owner, name
        return copy
    return value  # None, a bool or a frozen dataclass: immutable already


class KbView:
    """One check's access to the knowledge base: only the fields it declared."""

    __slots__ = ("_kb", "_owner", "_reads", "_writes")

    def __init__(
        self, kb: KnowledgeBase, owner: str, reads: Iterable[str] = (), writes: Iterable[str] = ()
    ) -> None:
        object.__setattr__(self, "_kb", kb)
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_reads", frozenset(reads))
        object.__setattr__(self, "_writes", frozenset(writes))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)  # protocol probes (copy, pickle): not a field
        if name in self._writes:
            return getattr(self._kb, name)  # live: the check adds to it
        if name in self._reads:
            return _frozen(getattr(self._kb, name), self._owner, name)
        _denied(self._owner, name, "did not declare that it reads")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._writes:
            _denied(self._owner, name, "may not write")
        setattr(self._kb, name, value)

    def __repr__(self) -> str:
        return (
            f"KbView({self._owner!r}, reads={sorted(self._reads)}, writes={sorted(self._writes)})"
        )
