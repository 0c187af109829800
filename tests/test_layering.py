"""Layers: the store and the renderers depend on the result model, never on the scanner or
the checks; ``verify`` is a client of the public scan API and touches no private state."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "apigrade"
FORBIDDEN = ("apigrade.engine", "apigrade.checks")
LAYERS = ("store", "report")
#: Files of those layers allowed a forbidden import, with the reason. Empty: none is.
KNOWN_EXCEPTIONS: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, anywhere (function bodies, TYPE_CHECKING blocks),
    by absolute name; ``from a import b`` counts as ``a`` and ``a.b``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                package = module.split(".") if is_package else module.split(".")[:-1]
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def forbidden_in(imported: set[str]) -> list[str]:
    return sorted(m for m in imported if any(m == f or m.startswith(f + ".") for f in FORBIDDEN))


def layer_files() -> list[Path]:
    files = [p for layer in LAYERS for p in sorted((SRC / layer).rglob("*.py"))]
    assert len(files) > 20  # the walk found the packages
    return files


def private_attributes(source: str) -> list[str]:
    """``x._name`` accesses (dunders aside): a client of the scan uses none."""
    return sorted(
        {
            node.attr
            for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not (node.attr.startswith("__") and node.attr.endswith("__"))
        }
    )


@pytest.mark.parametrize("path", layer_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_store_and_report_import_nothing_from_engine_or_checks(path: Path) -> None:
    rel = str(path.relative_to(SRC))
    found = forbidden_in(
        imports_of(path.read_text(encoding="utf-8"), module_name(path), path.stem == "__init__")
    )
    if rel in KNOWN_EXCEPTIONS:
        pytest.xfail(KNOWN_EXCEPTIONS[rel])
    assert found == [], f"{rel} imports {found}"


def test_importing_every_store_and_report_module_loads_no_engine_or_check() -> None:
    """The same, at run time and transitively (model, redact, target, options...)."""
    code = f"""
import importlib, pkgutil, sys
import apigrade.store, apigrade.report
for pkg in (apigrade.store, apigrade.report):
    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        if ".migrations" not in m.name:  # alembic scripts run only under alembic
            importlib.import_module(m.name)
print(" ".join(sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r}))))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == []


def test_verify_uses_only_the_public_scan_api() -> None:
    files = sorted((SRC / "verify").glob("*.py"))
    assert {p.stem for p in files} >= {"__init__", "plan", "run", "checkmap"}
    for path in files:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        attrs = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert private_attributes(source) == [], path.name
        assert "state" not in attrs, f"{path.name} reads the scan's state"
        assert "tempfile" not in imports_of(source, module_name(path)), path.name
    assert not (SRC / "store" / "verify.py").exists()
    assert not (SRC / "store" / "verify_plan.py").exists()
    assert not (SRC / "store" / "checkmap.py").exists()


# -- the guards catch what they are for ---------------------------------------------------
@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("def f():\n    from apigrade.engine.scanner import Scan\n", "apigrade.store.x",
         ["apigrade.engine.scanner", "apigrade.engine.scanner.Scan"]),
        ("import apigrade.checks\n", "apigrade.report.x", ["apigrade.checks"]),
        ("from apigrade import engine\n", "apigrade.store.x", ["apigrade.engine"]),
        ("from ..checks import registry\n", "apigrade.store.x",
         ["apigrade.checks", "apigrade.checks.registry"]),
        ("from ...engine.target import Target\n", "apigrade.store.migrations.x",
         ["apigrade.engine.target", "apigrade.engine.target.Target"]),
        ("if TYPE_CHECKING:\n    from apigrade.engine import http\n", "apigrade.report.x",
         ["apigrade.engine", "apigrade.engine.http"]),
        ("from apigrade.target import Target\nimport apigrade.engineering\n", "apigrade.store.x",
         []),
    ],
)  # fmt: skip
def test_the_import_guard_sees_every_form_of_import(
    source: str, module: str, expected: list[str]
) -> None:
    assert forbidden_in(imports_of(source, module)) == expected


def test_the_private_attribute_guard() -> None:
    assert private_attributes("scan._total += 1\nx = scan.active_checks[:]\n") == ["_total"]
    assert private_attributes("p = apigrade.checks.__file__\nscan.total\n") == []
