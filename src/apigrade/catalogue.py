"""The prose of the built-in checks: ``apigrade/data/catalogue/*.toml``.

Each file holds one table per check id (``["flask.werkzeug-debugger"]``) with ``description``,
``remediation`` and optional ``references``; a check's decorator keeps only the short facts
(id, title, severity, ...). The docs (``apigrade checks --format markdown``) and the SARIF
rules are generated from the registry the catalogue fills. Files are split by category so a new
check adds its own file or table without touching the others.

The catalogue is read once per process, validated strictly (unknown keys rejected, like the
tables of ``apigrade.knowledge``). An id in two files, an entry no registered check takes, and a
check with prose both in its decorator and here are errors (``CatalogueError``, one line).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from pydantic import Field, RootModel, StrictStr

from apigrade import rx
from apigrade.knowledge import KnowledgeError, Strict, read_table

#: where the catalogue files live; tests point it at a copy (then call ``clear()``)
CATALOGUE_DIR = Path(__file__).parent / "data" / "catalogue"

_ID = rx.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)+$")


class CatalogueError(KnowledgeError):
    """A catalogue that cannot be read or does not match the registered checks (one line)."""


class Prose(Strict):
    """A check's long text: what the finding means, how to fix it, where to read more."""

    description: StrictStr = Field(min_length=1)
    remediation: StrictStr = Field(min_length=1)
    references: tuple[StrictStr, ...] = ()


class CatalogueFile(RootModel[dict[str, Prose]]):
    """One catalogue file: check id -> prose."""


@cache
def _load(directory: Path) -> Mapping[str, Prose]:
    entries: dict[str, Prose] = {}
    where: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            table = read_table(path, CatalogueFile)
        except KnowledgeError as exc:
            raise CatalogueError(str(exc)) from None
        for check_id, prose in table.root.items():
            if not _ID.match(check_id):
                raise CatalogueError(f"{path.name}: [{check_id!r}]: not a check id")
            if check_id in entries:
                raise CatalogueError(f"{path.name}: [{check_id!r}]: already in {where[check_id]}")
            entries[check_id] = prose
            where[check_id] = path.name
    return entries


def entries() -> Mapping[str, Prose]:
    """Every catalogue entry by check id, read once."""
    return _load(CATALOGUE_DIR.resolve())


def prose(check_id: str) -> Prose | None:
    """The catalogue entry of ``check_id``, or None."""
    return entries().get(check_id)


def verify(registered: Iterable[str], taken: Iterable[str]) -> None:
    """Every entry must belong to a registered check (``registered``) that took its prose
    from the catalogue (``taken``); a signature or a decorator with prose of its own cannot."""
    registered, taken = set(registered), set(taken)
    for check_id in sorted(entries()):
        if check_id not in registered:
            raise CatalogueError(f"catalogue entry [{check_id!r}] names no registered check")
        if check_id not in taken:
            raise CatalogueError(
                f"catalogue entry [{check_id!r}]: the check has prose of its own "
                "(a signature file or its decorator); keep one"
            )


def clear() -> None:
    """Forget the loaded catalogue (the next call reads ``CATALOGUE_DIR`` again)."""
    _load.cache_clear()
