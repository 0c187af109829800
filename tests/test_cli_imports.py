"""The command-line modules form no import circle and reach no check category's insides."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "apigrade"
CLI_FILES = sorted((SRC / "cli").glob("*.py"))
CATEGORIES = {p.name for p in (SRC / "checks").iterdir() if (p / "__init__.py").is_file()}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (function bodies too), by absolute name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _name(path: Path) -> str:
    return "apigrade.cli" if path.stem == "__init__" else f"apigrade.cli.{path.stem}"


def cli_graph() -> dict[str, set[str]]:
    """apigrade.cli module -> the apigrade.cli modules it imports."""
    modules = {_name(p): p for p in CLI_FILES}
    return {name: imported_modules(path) & modules.keys() - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` as a path of module names, or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def category_imports(modules: set[str]) -> list[str]:
    """The imports that reach into a check category package (``apigrade.checks.bola…``)."""
    return sorted(
        m for m in modules
        if m.startswith("apigrade.checks.") and m.split(".")[2] in CATEGORIES
    )


def test_the_cli_modules_are_found() -> None:
    assert {"apigrade.cli", "apigrade.cli.store", "apigrade.cli.report"} <= cli_graph().keys()
    assert "authentication" in CATEGORIES and "plugins" not in CATEGORIES


def test_no_import_cycle_among_cli_modules() -> None:
    assert find_cycle(cli_graph()) is None


def test_no_cli_module_imports_a_check_category() -> None:
    for path in CLI_FILES:
        assert category_imports(imported_modules(path)) == [], path.name


def test_no_cli_module_imports_another_cli_modules_private_names() -> None:
    for path in CLI_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("apigrade.cli"):
                assert not [a.name for a in node.names if a.name.startswith("_")], path.name


# the detectors themselves: they must see what they are meant to catch
def test_find_cycle_reports_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


@pytest.mark.parametrize(
    ("source", "bad"),
    [
        ("from apigrade.checks.authentication.identities import parse_identities",
         ["apigrade.checks.authentication.identities",
          "apigrade.checks.authentication.identities.parse_identities"]),
        ("def f():\n    import apigrade.checks.bola.apiutil", ["apigrade.checks.bola.apiutil"]),
        ("from apigrade.checks import load_checks\nfrom apigrade.checks.plugins import use_signatures", []),
    ],
)
def test_category_imports_are_detected(tmp_path: Path, source: str, bad: list[str]) -> None:
    module = tmp_path / "cli_x.py"
    module.write_text(source, encoding="utf-8")
    assert category_imports(imported_modules(module)) == bad
