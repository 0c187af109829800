"""The registry rejects duplicates and incomplete metadata at import."""

from __future__ import annotations

from pathlib import Path

import pytest

from apigrade.checks import load_checks
from apigrade.checks.registry import REGISTRY, Check, CheckMeta, Registry, RegistryError
from apigrade.checks.signature import load_file
from apigrade.model import CATEGORY_OWASP, Category

GOOD = dict(
    id="test.thing", title="T", category="misconfiguration", severity="low",
    confidence="firm", cwe=497, owasp="API8:2023", description="d", remediation="r",
)  # fmt: skip


def test_good_meta_is_accepted_and_coerced() -> None:
    meta = CheckMeta(**GOOD)  # type: ignore[arg-type]
    assert meta.category is Category.MISCONFIGURATION


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"remediation": "  "},
        {"description": ""},
        {"id": "NoFamily"},
        {"cwe": 0},
        {"severity": "urgent"},
        {"category": "nope"},
        {"owasp": "API1:2023"},  # wrong OWASP id for the category
    ],
)
def test_bad_meta_is_rejected(change: dict[str, object]) -> None:
    with pytest.raises(RegistryError):
        CheckMeta(**{**GOOD, **change})  # type: ignore[arg-type]


def test_missing_field_is_rejected() -> None:
    kw = dict(GOOD)
    del kw["cwe"]
    with pytest.raises(TypeError):
        CheckMeta(**kw)  # type: ignore[arg-type]


def test_duplicate_id_is_rejected() -> None:
    reg = Registry()
    meta = CheckMeta(**GOOD)  # type: ignore[arg-type]
    reg.add(Check(meta=meta, kind="passive", fn=lambda e, c: []))
    with pytest.raises(RegistryError, match="duplicate"):
        reg.add(Check(meta=meta, kind="active", fn=lambda c: None))


def test_bad_signature_file_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[check]]\nid = "x.y"\ntitle = "t"\n')
    with pytest.raises(RegistryError):
        load_file(bad)
    bad.write_text(
        "[[check]]\n" + "\n".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}"
                                  for k, v in GOOD.items())
        + '\npaths = ["/x"]\n[[check.matchers]]\ntype = "regex"\nregex = ["("]\n'
    )
    with pytest.raises(Exception):  # noqa: B017 - re.error or RegistryError
        load_file(bad)


def test_every_registered_check_is_complete_and_fits_the_contract() -> None:
    load_checks()
    assert len(REGISTRY) > 0
    for meta in REGISTRY.metas():
        assert meta.owasp in CATEGORY_OWASP[meta.category]
        assert meta.cwe > 0 and meta.remediation.strip() and meta.description.strip()
