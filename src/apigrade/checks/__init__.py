"""Checks: logic checks in ``checks/<category>/``, signatures in ``checks/signatures/``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from pathlib import Path

from apigrade.model import RuleInfo

_loaded = False
_CATEGORY_PACKAGES = (
    "misconfiguration",
    "data_exposure",
    "encryption",
    "authentication",
    "input_validation",
    "inventory",
    "unsafe_consumption",
    "property_authorization",
    "bola",
    "bfla",
    "rate_limiting",
    "ssrf",
    "llm",
)


def load_checks() -> None:
    """Import every check module once; the registry validates each at import."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    from apigrade.checks.signature import register_signatures

    for pkg_name in _CATEGORY_PACKAGES:
        try:
            pkg = importlib.import_module(f"apigrade.checks.{pkg_name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"apigrade.checks.{pkg_name}":
                continue
            raise
        for mod in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")
    register_signatures(Path(__file__).parent / "signatures")
    from apigrade.checks.registry import verify_catalogue

    verify_catalogue()  # no entry for a missing check, none beside a signature's own prose
    from apigrade.checks.plugins import load_plugins

    load_plugins()  # entry points: apigrade.checks, apigrade.signatures (docs/extending.md)


def rule_infos(formats: Sequence[str] | None = None) -> tuple[RuleInfo, ...]:
    """Every registered check as the rule metadata reporters take (``rules=``), by id.

    With ``formats``, none unless one of them shows rules (SARIF, JUnit): writing JSON or
    text then loads no checks.
    """
    from apigrade.checks.registry import REGISTRY
    from apigrade.report import needs_rules

    if formats is not None and not needs_rules(formats):
        return ()
    load_checks()
    return tuple(
        RuleInfo(id=m.id, title=m.title, category=m.category, severity=m.severity,
                 confidence=m.confidence, cwe=m.cwe, owasp=m.owasp, description=m.description,
                 remediation=m.remediation, references=m.references)
        for m in REGISTRY.metas()
    )  # fmt: skip
