"""The prose catalogue (apigrade/data/catalogue/): strict, complete, the only source of the
built-in checks' descriptions, and the source of docs/checks.md."""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from apigrade import catalogue
from apigrade.catalogue import CatalogueError
from apigrade.checks import load_checks, registry, rule_infos
from apigrade.checks.registry import PROSE, REGISTRY, RegistryError, _meta
from apigrade.cli import main
from apigrade.model import Category, RuleInfo, Severity
from apigrade.report.rules import REGENERATE, render_rules_markdown

ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "src" / "apigrade" / "checks"
DOC = ROOT / "docs" / "checks.md"
DECORATORS = {"passive", "active", "finding_kind"}
ENTRY = '["demo.check"]\ndescription = "What it means."\nremediation = "How to fix it."\n'


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty catalogue folder in place of the real one."""
    monkeypatch.setattr(catalogue, "CATALOGUE_DIR", tmp_path)
    catalogue.clear()
    yield tmp_path
    catalogue.clear()


def _decorator_calls() -> Iterator[tuple[Path, ast.Call]]:
    for path in sorted(CHECKS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in DECORATORS:
                    yield path, node


def test_no_check_module_passes_prose_in_its_decorator() -> None:
    calls = list(_decorator_calls())
    assert len(calls) > 40  # the walk really sees the decorators
    offenders = [
        f"{path.relative_to(ROOT)}:{call.lineno} {kw.arg}"
        for path, call in calls
        for kw in call.keywords
        if kw.arg in PROSE
    ]
    assert offenders == [], "move the prose to src/apigrade/data/catalogue/"
    # Nor through a spread dict (``**_COMMON``) carrying one.
    for path, call in calls:
        spread = {
            k.value.id for k in call.keywords if k.arg is None and isinstance(k.value, ast.Name)
        }
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in spread for t in node.targets)
                and isinstance(node.value, ast.Call)
            ):
                assert not {k.arg for k in node.value.keywords} & set(PROSE), path


def test_every_built_in_check_takes_its_prose_from_the_catalogue() -> None:
    """In this process no plugin is installed: a registered check's prose comes from the
    catalogue, or (a signature) from its own file under checks/signatures/."""
    load_checks()
    entries = catalogue.entries()
    taken = registry._from_catalogue
    assert set(entries) <= taken  # every entry used (load_checks verified it too)
    signatures = "".join(
        p.read_text(encoding="utf-8") for p in (CHECKS / "signatures").rglob("*.toml")
    )
    for meta in REGISTRY.metas():
        if meta.id in entries:
            entry = entries[meta.id]
            assert (meta.description, meta.remediation, meta.references) == (
                entry.description, entry.remediation, entry.references,
            )  # fmt: skip
        else:
            assert f'"{meta.id}"' in signatures, f"{meta.id}: neither catalogue nor signature"


def test_signature_checks_keep_their_own_prose() -> None:
    load_checks()
    signature_ids = {m.id for m in REGISTRY.metas()} - set(catalogue.entries())
    assert signature_ids  # the signature files' checks
    for check_id in signature_ids:
        assert REGISTRY.meta(check_id).description.strip()


def test_a_valid_folder_loads_once(folder: Path) -> None:
    (folder / "demo.toml").write_text(ENTRY + 'references = ["https://example.org/a"]\n')
    first = catalogue.entries()
    assert first["demo.check"].references == ("https://example.org/a",)
    (folder / "demo.toml").write_text("broken [")
    assert catalogue.entries() is first  # read once per process


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ENTRY + "remedation = 'typo'\n", "remedation: Extra inputs are not permitted"),
        ('["demo.check"]\ndescription = "only this"\n', "remediation: Field required"),
        ('["demo.check"]\ndescription = ""\nremediation = "x"\n', "description"),
        (ENTRY.replace('"How to fix it."', "3"), "remediation: Input should be a valid string"),
        (ENTRY.replace("demo.check", "Not An Id"), "not a check id"),
        ('description = "no table"\n', "description"),
        ("broken [", "demo.toml"),
    ],
)
def test_a_bad_entry_is_one_line_naming_the_file(folder: Path, text: str, message: str) -> None:
    (folder / "demo.toml").write_text(text)
    with pytest.raises(CatalogueError) as info:
        catalogue.entries()
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("demo.toml")


def test_an_id_in_two_files_is_rejected(folder: Path) -> None:
    (folder / "a.toml").write_text(ENTRY)
    (folder / "b.toml").write_text(ENTRY)
    with pytest.raises(CatalogueError, match=r"b\.toml: \['demo\.check'\]: already in a\.toml"):
        catalogue.entries()


def test_orphan_entries_and_double_prose_are_rejected(folder: Path) -> None:
    (folder / "demo.toml").write_text(ENTRY)
    catalogue.verify(["demo.check"], ["demo.check"])  # registered, prose taken: fine
    with pytest.raises(CatalogueError, match="names no registered check"):
        catalogue.verify(["other.check"], [])
    with pytest.raises(CatalogueError, match="has prose of its own"):
        catalogue.verify(["demo.check"], [])  # e.g. a signature file of that id


def test_prose_from_the_decorator_or_the_catalogue_exactly_one(folder: Path) -> None:
    (folder / "demo.toml").write_text(ENTRY)
    base = dict(id="demo.check", title="T", category="misconfiguration", owasp="API8:2023",
                severity=Severity.LOW, confidence="firm", cwe=16)  # fmt: skip
    meta = _meta(dict(base))  # from the catalogue
    assert (meta.description, meta.remediation) == ("What it means.", "How to fix it.")
    with pytest.raises(RegistryError, match="both in the decorator and in the catalogue"):
        _meta({**base, "description": "mine"})
    with pytest.raises(RegistryError, match=r"no description or remediation: add a table"):
        _meta({**base, "id": "plugin.check"})  # no entry, no prose
    plugin = _meta({**base, "id": "plugin.check", "description": "D", "remediation": "R"})
    assert plugin.description == "D"  # a plugin check passes its own


def test_a_broken_real_catalogue_stops_loading(tmp_path: Path) -> None:
    """An orphan entry in the shipped folder fails ``load_checks`` (in a fresh process)."""
    for path in catalogue.CATALOGUE_DIR.glob("*.toml"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "zz.toml").write_text(ENTRY)
    code = (
        "import sys; from pathlib import Path; from apigrade import catalogue\n"
        f"catalogue.CATALOGUE_DIR = Path({str(tmp_path)!r})\n"
        "from apigrade.checks import load_checks\n"
        "try:\n    load_checks()\nexcept catalogue.CatalogueError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "['demo.check'] names no registered check" in proc.stdout


def _markdown_now() -> str:
    script = Path(sys.executable).with_name("apigrade")
    args = [str(script)] if script.exists() else [sys.executable, "-m", "apigrade"]
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    proc = subprocess.run([*args, "checks", "--format", "markdown"], capture_output=True,
                          text=True, env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_docs_checks_md_is_what_the_command_prints() -> None:
    assert DOC.read_text(encoding="utf-8") == _markdown_now(), (
        f"docs/checks.md is out of date: run `{REGENERATE}`"
    )


def test_markdown_has_one_section_per_check_with_its_metadata() -> None:
    rules = rule_infos()
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["checks", "--format", "markdown"]) == 0
    text = out.getvalue()
    assert text.count("\n### ") == len(rules) == len(REGISTRY.metas())
    meta = REGISTRY.meta("flask.werkzeug-debugger")
    section = text.split("` flask.werkzeug-debugger `")[1].split("\n### ")[0]
    assert f"| misconfiguration | {meta.severity.value} | certain |" in section
    assert "[CWE-489](https://cwe.mitre.org/data/definitions/489.html)" in section
    assert "API8\\:2023" in section and "**Fix:**" in section
    assert "- <https://werkzeug.palletsprojects.com/en/stable/debug/>" in section
    assert "The Werkzeug debugger middleware \\(Flask debug mode\\)" in section


def test_markdown_escapes_hostile_prose() -> None:
    evil = RuleInfo(
        id="evil.check", title="<img src=x onerror=alert(1)>", category=Category.MISCONFIGURATION,
        severity=Severity.LOW, cwe=16, owasp="API8:2023",
        description="[click](javascript:alert(1)) <script>x</script>",
        remediation="# not a heading\n| not | a table |",
        references=("javascript:alert(1)", "https://example.org/ok"),
    )  # fmt: skip
    text = render_rules_markdown([evil])
    assert "<img" not in text and "<script" not in text and "&lt;script&gt;" in text
    assert "](javascript" not in text and "<javascript" not in text
    assert "- <https://example.org/ok>" in text
    assert "\n# not" not in text and "\\# not a heading" in text


def test_checks_format_names_markdown_when_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--format", "xml"]) == 2
    assert "text, json or markdown" in capsys.readouterr().err
