"""The package's import graph (module-level imports) has no cycles.

Imports inside functions and under ``TYPE_CHECKING`` are not edges: they run later or
never. ``from pkg import submodule`` is an edge to the submodule, not to ``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from test_cli_imports import find_cycle  # one cycle finder for both graphs

SRC = Path(__file__).resolve().parents[1] / "src" / "apigrade"


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _top_level(tree: ast.Module) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        out.extend(node.body if isinstance(node, ast.Try) else [node])
    return out


def edges(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports when it is imported."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _top_level(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package
                for _ in range(node.level - 1):
                    up = up.rpartition(".")[0]
                base = f"{up}.{base}" if base else up
            subs = {f"{base}.{a.name}" for a in node.names} & known.keys()
            out.update(subs)
            if len(subs) < len(node.names):  # some names are attributes of ``base``
                out.add(base)
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: edges(name, path, known) for name, path in known.items()}


def test_the_graph_sees_the_package() -> None:
    g = graph()
    assert "apigrade.engine.scanner" in g and "apigrade.cli" in g
    assert "apigrade.checks.registry" in g["apigrade.engine.scanner"] or any(
        m.startswith("apigrade.checks") for m in g["apigrade.engine.scanner"]
    )


def test_no_import_cycle_in_the_package() -> None:
    assert find_cycle(graph()) is None


def test_a_cycle_is_found() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    g = graph()
    g["apigrade.model"] = g["apigrade.model"] | {"apigrade.engine.scanner"}
    assert find_cycle(g) is not None  # a real back edge in this package is seen
