"""Rule metadata is passed to the renderers (``rules=``); they never load the checks."""

from __future__ import annotations

import ast
import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

from reportdata import finding, make_report

from apigrade.checks import rule_infos
from apigrade.checks.registry import REGISTRY
from apigrade.cli import main
from apigrade.model import Category, RuleInfo, Severity
from apigrade.report import renderer
from apigrade.report.emit import emit
from apigrade.report.junit import render_junit
from apigrade.report.sarif import render_sarif

REPORT_DIR = Path(__file__).resolve().parents[2] / "src" / "apigrade" / "report"
RULE = RuleInfo(id="demo.rule", title="Demo rule", category=Category.MISCONFIGURATION,
                severity=Severity.MEDIUM, cwe=16, owasp="API8:2023", description="Means.",
                remediation="Fix it.", references=("https://example.org/demo",))  # fmt: skip


def _rule_ids(sarif: str) -> list[str]:
    return [r["id"] for r in json.loads(sarif)["runs"][0]["tool"]["driver"]["rules"]]


def test_no_reporter_imports_the_checks() -> None:
    for path in sorted(REPORT_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith(("apigrade.checks", "apigrade.engine")), path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("apigrade.checks") for a in node.names), path


def test_rendering_sarif_and_junit_loads_no_check() -> None:
    code = (
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from reportdata import finding, make_report\n"
        "from apigrade.report import renderer\n"
        "r = make_report([finding()])\n"
        "for fmt in ('sarif', 'junit'): renderer(fmt)(r)\n"
        "print(sorted(m for m in sys.modules if m.startswith('apigrade.checks')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_without_rules_sarif_lists_the_rules_the_findings_imply() -> None:
    report = make_report([finding(check_id="b.second"), finding(check_id="a.first"),
                          finding(check_id="b.second", url="http://127.0.0.1:5000/x")])  # fmt: skip
    assert _rule_ids(render_sarif(report)) == ["a.first", "b.second"]
    assert _rule_ids(render_sarif(make_report([]))) == []
    run = json.loads(render_sarif(report))["runs"][0]
    assert [r["ruleIndex"] for r in run["results"]] == [1, 0, 1]


def test_given_rules_come_first_then_the_unknown_ones() -> None:
    report = make_report([finding(check_id="zz.unknown"), finding(check_id="demo.rule")])
    log = json.loads(render_sarif(report, [RULE]))
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["demo.rule", "zz.unknown"]
    assert rules[0]["fullDescription"]["text"] == "Means."  # the rule's, not the finding's
    assert rules[0]["helpUri"] == "https://example.org/demo"
    assert rules[1]["fullDescription"]["text"] == "why"  # from the finding
    assert [r["ruleIndex"] for r in log["runs"][0]["results"]] == [1, 0]


def test_renderer_and_emit_pass_the_rules_on(tmp_path: Path) -> None:
    report = make_report([finding()])
    render = renderer("sarif", rules=[RULE])
    assert render is not None
    assert _rule_ids(render(report)) == ["demo.rule", "headers.missing-csp"]
    junit = renderer("junit", rules=[RULE])
    assert junit is not None and 'name="demo.rule: Demo rule"' in junit(report)
    assert 'name="demo.rule' not in render_junit(report)  # without rules: no testcase
    emit(report, ["sarif", "junit"], output_dir=tmp_path, rules=[RULE])
    assert _rule_ids((tmp_path / "apigrade.sarif").read_text())[0] == "demo.rule"
    assert "demo.rule" in (tmp_path / "apigrade.junit.xml").read_text()
    emit(report, ["sarif"], output=tmp_path / "bare.sarif")
    assert _rule_ids((tmp_path / "bare.sarif").read_text()) == ["headers.missing-csp"]


def test_rule_infos_are_the_registry_and_only_when_a_format_needs_them() -> None:
    rules = rule_infos()
    assert [r.id for r in rules] == [m.id for m in REGISTRY.metas()]
    meta = REGISTRY.meta(rules[0].id)
    assert (rules[0].description, rules[0].references) == (meta.description, meta.references)
    assert rule_infos(["json", "text", "html", "markdown"]) == ()
    assert rule_infos(["json", "junit"]) == rules


def test_the_cli_report_command_passes_every_rule(tmp_path: Path) -> None:
    saved = tmp_path / "scan.json"
    saved.write_text(make_report([finding(check_id="future.check")]).model_dump_json())
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["report", str(saved), "-f", "sarif"]) == 0
    ids = _rule_ids(out.getvalue())
    assert ids == [m.id for m in REGISTRY.metas()] + ["future.check"]
