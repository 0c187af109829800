"""Source locations in the scanned project: a route handler's line, a setting's assignment.

Paths are relative to the project root (the nearest folder above the app's module with
``.git``, ``pyproject.toml``, ``setup.cfg`` or ``setup.py``; else the working directory),
'/'-separated, as SARIF and GitHub code scanning resolve them against the checkout. Code
outside the root (installed packages: the Django admin's views) gets no location.
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from apigrade.inprocess.frameworks import identify
from apigrade.model import SourceLocation

ROOT_MARKERS = (".git", "pyproject.toml", "setup.cfg", "setup.py")
#: source files read for config assignments, at most, and their size
MAX_FILES = 20
MAX_FILE_BYTES = 1 << 20
#: "no live value given" and "the assigned value is not a literal"
UNKNOWN = object()
NOT_LITERAL = object()


def project_root(start: Path) -> Path:
    """The nearest folder from ``start`` upwards holding a project marker; else the cwd."""
    for folder in [start, *start.parents]:
        if any((folder / m).exists() for m in ROOT_MARKERS):
            return folder
    return Path.cwd()


def module_file(obj: Any) -> Path | None:
    """The file of the module that defines ``obj`` (a function, class or instance)."""
    name = getattr(obj, "__module__", None) or type(obj).__module__
    mod = sys.modules.get(name or "")
    path = getattr(mod, "__file__", None)
    return Path(path).resolve() if path else None


def defining_module(*objs: Any) -> Path | None:
    """The file of a loaded module that holds one of ``objs`` as a global (``app =
    FastAPI()``), installed packages last; None when no module does."""
    found: list[Path] = []
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        try:
            held = path and any(v is o for v in list(vars(mod).values()) for o in objs)
        except Exception:  # noqa: BLE001 - a module with odd attributes
            held = False
        if held and path:
            found.append(Path(path).resolve())
    found.sort(key=lambda p: "site-packages" in p.parts or "dist-packages" in p.parts)
    return found[0] if found else None


def _app_module_file(app: Any) -> Path | None:
    kind = identify(app)
    obj = kind.obj
    if kind.kind == "starlette":
        return defining_module(app, obj) or module_file(obj)
    if kind.kind == "flask":
        mod = sys.modules.get(getattr(obj, "import_name", ""))
        path = getattr(mod, "__file__", None)
        if path:
            return Path(path).resolve()
    if kind.kind == "django":
        from django.conf import settings

        mod = sys.modules.get(getattr(settings, "SETTINGS_MODULE", None) or "")
        mod = mod or sys.modules.get(str(getattr(settings, "ROOT_URLCONF", "")))
        path = getattr(mod, "__file__", None)
        if path:
            return Path(path).resolve()
    return module_file(obj)


class Locator:
    """Turns callables and setting names into locations under one project root."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    @classmethod
    def for_app(cls, app: Any) -> Locator:
        try:
            start = _app_module_file(app)
        except Exception:  # noqa: BLE001 - an app we cannot place: the working directory
            start = None
        return cls(project_root(start.parent) if start else Path.cwd())

    def relative(self, path: Path) -> str | None:
        """``path`` relative to the root, or None outside it or in installed packages."""
        try:
            rel = path.resolve().relative_to(self.root)
        except ValueError:
            return None
        parts = rel.parts
        if any(p in ("site-packages", "dist-packages", ".venv", "venv") for p in parts):
            return None
        return "/".join(parts)

    def of_callable(self, fn: Any) -> SourceLocation | None:
        """Where ``fn`` (a view function or class, unwrapped) is defined."""
        if fn is None:
            return None
        try:
            target = inspect.unwrap(fn) if callable(fn) else fn
            target = getattr(target, "__func__", target)  # a bound method
            path = inspect.getsourcefile(target)
            if path is None:
                return None
            _, line = inspect.getsourcelines(target)
        except (TypeError, OSError, ValueError):
            return None
        rel = self.relative(Path(path))
        return SourceLocation(path=rel, line=max(1, line)) if rel else None

    def of_setting(
        self, files: Iterable[Path], name: str, value: Any = UNKNOWN, guessed: Iterable[Path] = ()
    ) -> SourceLocation | None:
        """The line that assigns setting ``name`` in ``files``: ``NAME = …``,
        ``x.config["NAME"] = …``, ``x.config.update(NAME=…)`` or ``App(name=…)``. An
        assignment of a literal other than the live ``value`` is skipped (another config
        class or file); one of a computed value counts when no literal matches, in
        ``files`` only (``guessed`` files, config-like names nobody loaded for sure, need
        the literal)."""
        fallback: SourceLocation | None = None
        sure = set(files)
        for path in list(dict.fromkeys([*files, *guessed]))[:MAX_FILES]:
            rel = self.relative(path)
            if rel is None:
                continue
            for line, literal in assignments(str(path.resolve()), name):
                if literal is NOT_LITERAL:
                    if path in sure:
                        fallback = fallback or SourceLocation(path=rel, line=line)
                elif value is UNKNOWN or literal == value:
                    return SourceLocation(path=rel, line=line)
        return fallback


@functools.lru_cache(maxsize=64)
def _tree(path: str, mtime: float) -> ast.Module | None:
    try:
        if os.path.getsize(path) > MAX_FILE_BYTES:
            return None
        return ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return None


def assignments(path: str, name: str) -> list[tuple[int, Any]]:
    """Each assignment of ``name`` in a Python file (see of_setting): its line and its
    value when a literal (else :data:`NOT_LITERAL`), in line order."""
    try:
        tree = _tree(path, os.path.getmtime(path))
    except OSError:
        return []
    if tree is None:
        return []
    found = [hit for node in ast.walk(tree) if (hit := _assigns(node, name)) is not None]
    return sorted(found, key=lambda h: h[0])


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_LITERAL


def _assigns(node: ast.AST, name: str) -> tuple[int, Any] | None:
    if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            if isinstance(t, ast.Name) and t.id == name:
                return node.lineno, _literal(node.value)
            if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant) \
                    and t.slice.value == name:  # fmt: skip
                return node.lineno, _literal(node.value)
    if isinstance(node, ast.Call):
        for kw in node.keywords:
            if kw.arg == name:
                return kw.value.lineno, _literal(kw.value)
    return None
