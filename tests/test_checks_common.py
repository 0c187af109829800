"""Shared check plumbing: the fan-out helper, finding-kind parents, category boundaries."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest

import apigrade.checks
from apigrade.checks import load_checks
from apigrade.checks.common.fanout import fan_out, gather_bounded
from apigrade.checks.registry import (
    REGISTRY,
    Check,
    CheckMeta,
    Registry,
    RegistryError,
    finding_kind,
)

CHECKS_DIR = Path(apigrade.checks.__file__).parent


class FakeCtx:
    """Only what fan_out uses of a CheckContext: ``report``."""

    def __init__(self) -> None:
        self.reported: list[Any] = []

    def report(self, hit: Any) -> None:
        self.reported.append(hit)


class Gauge:
    """Counts probes in flight and the most at once."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    async def probe(self, _ctx: Any, item: int) -> str | None:
        self.now += 1
        self.most = max(self.most, self.now)
        await asyncio.sleep(0.01)
        self.now -= 1
        return f"hit-{item}" if item % 2 == 0 else None


# -- fan-out ------------------------------------------------------------------------------


def test_fan_out_never_runs_more_than_limit_probes_at_once() -> None:
    gauge = Gauge()
    asyncio.run(fan_out(FakeCtx(), range(8), gauge.probe, limit=2))  # type: ignore[arg-type]
    assert gauge.most == 2


def test_fan_out_without_limit_runs_every_probe_at_once() -> None:
    gauge = Gauge()
    asyncio.run(fan_out(FakeCtx(), range(8), gauge.probe))  # type: ignore[arg-type]
    assert gauge.most == 8


def test_fan_out_reports_hits_in_item_order_not_completion_order() -> None:
    async def probe(_ctx: Any, item: int) -> str | None:
        await asyncio.sleep(0.005 * (6 - item))  # the last item finishes first
        return None if item == 3 else f"hit-{item}"

    ctx = FakeCtx()
    count = asyncio.run(fan_out(ctx, range(6), probe, limit=3))  # type: ignore[arg-type]
    assert ctx.reported == ["hit-0", "hit-1", "hit-2", "hit-4", "hit-5"]
    assert count == 5


def test_gather_bounded_keeps_every_result_in_order() -> None:
    async def probe(_ctx: Any, item: int) -> int:
        await asyncio.sleep(0.001 * (5 - item))
        return item * 10

    results = asyncio.run(gather_bounded(FakeCtx(), range(5), probe))  # type: ignore[arg-type]
    assert results == [0, 10, 20, 30, 40]


def test_a_failing_probe_raises_unchanged_reports_nothing_and_cancels_the_rest() -> None:
    cancelled: list[int] = []

    async def probe(_ctx: Any, item: int) -> str:
        if item == 1:
            raise ValueError("probe broke")
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(item)
            raise
        return "never"

    ctx = FakeCtx()
    with pytest.raises(ValueError, match="probe broke"):
        asyncio.run(fan_out(ctx, range(4), probe))  # type: ignore[arg-type]
    assert ctx.reported == []
    assert sorted(cancelled) == [0, 2, 3]


def test_fan_out_rejects_a_limit_below_one() -> None:
    with pytest.raises(ValueError, match="limit"):
        asyncio.run(fan_out(FakeCtx(), [1], Gauge().probe, limit=0))  # type: ignore[arg-type]


# -- finding kinds name their parent ------------------------------------------------------

_KIND = dict(
    title="t", category="misconfiguration", severity="low", confidence="firm", cwe=1,
    owasp="API8:2023", description="d", remediation="r",
)  # fmt: skip


def _check(check_id: str) -> Check:
    async def fn(_ctx: Any) -> None:
        return None

    return Check(meta=CheckMeta(id=check_id, **_KIND), kind="active", fn=fn)  # type: ignore[arg-type]


def test_a_finding_kind_without_a_parent_is_rejected_at_registration() -> None:
    before = len(REGISTRY)
    with pytest.raises(RegistryError, match="parent"):
        finding_kind(id="common-test.orphan", **_KIND)
    assert "common-test.orphan" not in REGISTRY and len(REGISTRY) == before


@pytest.mark.parametrize("parent", ["", "notanid", ("x.ok", ""), "common-test.self"])
def test_a_malformed_or_self_parent_is_rejected(parent: Any) -> None:
    reg = Registry()
    with pytest.raises(RegistryError):
        reg.add_kind(CheckMeta(id="common-test.self", **_KIND), parent)  # type: ignore[arg-type]
    assert "common-test.self" not in reg


def test_emitters_follow_the_declared_parent_not_the_declaring_module() -> None:
    reg = Registry()
    reg.add(_check("alpha.one"))
    reg.add(_check("alpha.two"))  # same module as the declaration below, not a parent
    reg.add_kind(CheckMeta(id="alpha.kind", **_KIND), "alpha.one")
    reg.add_kind(CheckMeta(id="alpha.both", **_KIND), ("alpha.one", "alpha.two"))
    assert [c.id for c in reg.emitters("alpha.kind")] == ["alpha.one"]
    assert [c.id for c in reg.emitters("alpha.both")] == ["alpha.one", "alpha.two"]
    assert reg.parents("alpha.kind") == ("alpha.one",)
    assert reg.orphans() == []
    reg.add_kind(CheckMeta(id="alpha.lost", **_KIND), "alpha.gone")
    assert reg.orphans() == ["alpha.lost"] and reg.emitters("alpha.lost") == []


def test_every_builtin_finding_kind_names_registered_runnable_parents() -> None:
    load_checks()
    runnable = {c.id for c in REGISTRY.checks()}
    kinds = [m.id for m in REGISTRY.metas() if m.id not in runnable]
    assert kinds  # the built-in checks declare finding kinds
    assert REGISTRY.orphans() == []
    for kind in kinds:
        assert REGISTRY.parents(kind), kind
        assert REGISTRY.emitters(kind), kind


# -- category boundaries ------------------------------------------------------------------


def _categories(root: Path) -> set[str]:
    return {
        p.name
        for p in root.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name != "common"
    }


def _imported(node: ast.AST, module: str) -> list[str]:
    """Absolute module names an import statement reaches (relative ones resolved)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module or ""
    if node.level:
        parent = module.split(".")[: -node.level]
        base = ".".join([*parent, base] if base else parent)
    return [base, *(f"{base}.{a.name}" for a in node.names)]


def cross_category_imports(root: Path, package: str = "apigrade.checks") -> list[str]:
    """``file -> apigrade.checks.<category>`` for every import of another category's package."""
    categories = _categories(root)
    found: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        own = rel.parts[0] if len(rel.parts) > 1 else None
        dotted = ".".join([package, *rel.with_suffix("").parts])
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imported(node, dotted):
                parts = name.split(".")
                if parts[:2] == package.split(".") and len(parts) > 2:
                    if parts[2] in categories and parts[2] != own:
                        found.add(f"{rel.as_posix()} -> {'.'.join(parts[:3])}")
    return sorted(found)


def test_no_check_module_imports_another_categorys_package() -> None:
    assert cross_category_imports(CHECKS_DIR) == []


def test_the_import_graph_test_catches_a_cross_category_import(tmp_path: Path) -> None:
    for cat in ("alpha", "beta", "common"):
        (tmp_path / cat).mkdir()
        (tmp_path / cat / "__init__.py").write_text("")
    (tmp_path / "alpha" / "a.py").write_text("from apigrade.checks.common.x import y\n")
    (tmp_path / "alpha" / "b.py").write_text("from apigrade.checks.alpha.a import z\n")
    assert cross_category_imports(tmp_path) == []
    (tmp_path / "beta" / "c.py").write_text("from apigrade.checks.alpha.a import z\n")
    (tmp_path / "beta" / "d.py").write_text("from ..alpha import a\n")
    (tmp_path / "common" / "e.py").write_text("import apigrade.checks.beta.c\n")
    assert cross_category_imports(tmp_path) == [
        "beta/c.py -> apigrade.checks.alpha",
        "beta/d.py -> apigrade.checks.alpha",
        "common/e.py -> apigrade.checks.beta",
    ]
