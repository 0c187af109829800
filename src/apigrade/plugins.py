"""Extension points: plugins found through entry points (docs/extending.md).

Three groups, each read once per process:

- ``apigrade.checks``: a module to import; it registers checks with ``@passive``,
  ``@active`` or ``finding_kind`` (loaded by ``apigrade.checks.plugins``).
- ``apigrade.signatures``: a folder of signature TOML files, given as a package (its
  folder), a callable returning a path, or a path.
- ``apigrade.reporters``: a :class:`Reporter`, or a bare ``render(report) -> str``
  whose format name is the entry point's name.

A plugin that fails to load costs one warning line on stderr and is skipped; a name that
clashes with one already taken is a :class:`PluginConflict` naming both.

This module imports nothing from ``engine/`` or ``checks/``: renderers may use it.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from apigrade.errors import UsageError

if TYPE_CHECKING:
    from apigrade.model import ScanReport

CHECKS = "apigrade.checks"
SIGNATURES = "apigrade.signatures"
REPORTERS = "apigrade.reporters"

_warned: set[str] = set()
_silent = False


class PluginConflict(UsageError):
    """Two providers claim the same check id or format name: exit 2."""


@dataclass(frozen=True)
class Reporter:
    """A report format a plugin adds: ``-f NAME`` writes ``render(report)``."""

    name: str
    render: Callable[[ScanReport], str]
    extension: str = ""  # the file suffix with --output-dir, e.g. ".csv"

    @property
    def suffix(self) -> str:
        return self.extension or f".{self.name}"


def label(ep: EntryPoint) -> str:
    """How a plugin is named in messages: ``NAME (GROUP = VALUE)``."""
    from apigrade.report.escape import one_line

    return one_line(f"{ep.name!r} ({ep.group} = {ep.value})", 200)


def warn(ep: EntryPoint, exc: BaseException) -> None:
    """One line on stderr, once per plugin, and only from the main process (pool
    workers load the same plugins again and would repeat it)."""
    from apigrade.redact import describe_error

    key = f"{ep.group}:{ep.name}:{ep.value}"
    if _silent or key in _warned or multiprocessing.current_process().name != "MainProcess":
        return
    _warned.add(key)
    sys.stderr.write(f"apigrade: warning: plugin {label(ep)} skipped: {describe_error(exc)}\n")


def silence() -> None:
    """No more warnings from this process (the analysis pool's forkserver and workers)."""
    global _silent
    _silent = True


def plugins(group: str) -> list[EntryPoint]:
    """The installed entry points of ``group``, in a stable order."""
    return sorted(entry_points(group=group), key=lambda ep: (ep.name, ep.value))


def load_each(group: str) -> Iterator[tuple[EntryPoint, Any]]:
    """``(entry point, loaded object)`` for each plugin of ``group`` that imports."""
    for ep in plugins(group):
        try:
            obj = ep.load()
        except PluginConflict:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the scan
            warn(ep, exc)
            continue
        yield ep, obj


def signature_dir(obj: Any) -> Path:
    """The folder an ``apigrade.signatures`` entry point stands for."""
    if isinstance(obj, ModuleType):
        paths = list(getattr(obj, "__path__", []))
        if paths:
            return Path(paths[0])
        if obj.__file__:
            return Path(obj.__file__).parent
    if callable(obj):
        obj = obj()
    if isinstance(obj, str | Path):
        return Path(obj)
    raise TypeError(
        f"expected a package, a path or a function returning one, got {type(obj).__name__}"
    )


_reporters: dict[str, Reporter] | None = None


def reporters(builtin: tuple[str, ...]) -> dict[str, Reporter]:
    """The plugin formats by name (loaded once); a clash with ``builtin`` or another
    plugin raises :class:`PluginConflict`."""
    global _reporters
    if _reporters is not None:
        return _reporters
    found: dict[str, tuple[Reporter, EntryPoint]] = {}
    for ep, obj in load_each(REPORTERS):
        if isinstance(obj, Reporter):
            rep = obj
        elif callable(obj):
            rep = Reporter(name=ep.name, render=obj)
        else:
            warn(
                ep, TypeError(f"expected a Reporter or a render function, got {type(obj).__name__}")
            )
            continue
        if rep.name in builtin:
            raise PluginConflict(
                f"format {rep.name!r} of plugin {label(ep)} clashes with apigrade's built-in format {rep.name!r}"
            )
        if rep.name in found:
            raise PluginConflict(
                f"format {rep.name!r} of plugin {label(ep)} clashes with plugin {label(found[rep.name][1])}"
            )
        found[rep.name] = (rep, ep)
    _reporters = {name: rep for name, (rep, _ep) in found.items()}
    return _reporters


def reset() -> None:
    """Forget what was loaded (tests that install plugins at run time)."""
    global _reporters
    _reporters = None
    _warned.clear()
