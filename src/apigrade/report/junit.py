"""JUnit XML for CI test-report views: one testcase per check, failures for its findings.

Every check the caller passes in (``rules``: every registered one) is a testcase
(``classname`` = apigrade.<category>). A check fails when it has a finding at or above the
threshold; its single ``<failure>`` lists each such finding
(one failure element per testcase is what GitLab, Jenkins and the GitHub test-report
actions all read). Findings below the threshold are listed in ``<system-out>``.

Threshold: ``fail_on``; when None, every finding except ``info`` fails (``low`` and up), so
the report's red/green matches "anything to fix?". ``apigrade report --fail-on`` sets it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from apigrade import rx
from apigrade.model import Finding, RuleInfo, ScanReport, Severity
from apigrade.report.escape import strip_controls
from apigrade.report.sarif import rules_for

DEFAULT_FAIL_ON = Severity.LOW
# Anything XML 1.0 cannot carry (C0 controls are already made visible by strip_controls).
# Characters XML 1.0 cannot hold, but lone surrogates (rx.replace_surrogates).
_ILLEGAL = rx.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{fffe}\x{ffff}]")


def xml_text(value: str, limit: int = 4000) -> str:
    """Target text safe for XML 1.0: controls shown as \\xNN, illegal characters dropped."""
    text = _ILLEGAL.sub("", rx.replace_surrogates(strip_controls(value), ""))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(f: Finding) -> str:
    lines = [
        f"{f.severity.value.upper()} {f.title}",
        f"  where:    {f.method} {f.url}" + (f" (parameter {f.parameter})" if f.parameter else ""),
        f"  class:    CWE-{f.cwe} · {f.owasp} · confidence {f.confidence.value} · id {f.id}",
    ]
    if f.evidence:
        lines.append(f"  evidence: {f.evidence}")
    fix = f.remediation.strip().splitlines()
    if fix:
        lines.append(f"  fix:      {fix[0]}")
    return xml_text("\n".join(lines), 8000)


def _testcase(rule: RuleInfo, findings: list[Finding], threshold: Severity) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"classname": f"apigrade.{xml_text(rule.category.value, 60)}",
         "name": xml_text(f"{rule.id}: {rule.title}", 300), "time": "0"},
    )  # fmt: skip
    failing = [f for f in findings if f.severity.rank >= threshold.rank]
    passing = [f for f in findings if f.severity.rank < threshold.rank]
    if failing:
        worst = max(failing, key=lambda f: f.severity.rank)
        n = len(failing)
        failure = ET.SubElement(
            case,
            "failure",
            {"type": worst.severity.value,
             "message": xml_text(f"{n} finding{'s' if n > 1 else ''}: {worst.title} at "
                                 f"{worst.method} {worst.url}", 500)},
        )  # fmt: skip
        failure.text = "\n\n".join(_describe(f) for f in failing)
    if passing:
        out = ET.SubElement(case, "system-out")
        out.text = "Below the failure threshold:\n\n" + "\n\n".join(_describe(f) for f in passing)
    return case


def render_junit(
    report: ScanReport, fail_on: Severity | None = None, rules: Sequence[RuleInfo] = ()
) -> str:
    """The report as JUnit XML; ``fail_on`` None means every finding but info fails.
    ``rules`` (``apigrade.checks.rule_infos()``) are the testcases, passing or not; without
    them only the checks with findings are."""
    threshold = fail_on or DEFAULT_FAIL_ON
    rules = rules_for(report, rules)
    by_check: dict[str, list[Finding]] = {r.id: [] for r in rules}
    for f in report.findings:
        by_check[f.check_id].append(f)
    cases = [_testcase(r, by_check[r.id], threshold) for r in rules]
    failures = sum(1 for c in cases if c.find("failure") is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0",
              "skipped": "0", "time": f"{report.duration_s:.3f}"}  # fmt: skip
    root = ET.Element("testsuites", {"name": "apigrade", **counts})
    suite = ET.SubElement(
        root, "testsuite",
        {"name": xml_text(f"apigrade {report.target}", 300), **counts,
         "timestamp": xml_text(report.started_at, 40)},
    )  # fmt: skip
    props = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", report.target),
        ("score", str(report.score)),
        ("grade", report.grade),
        ("fail-on", threshold.value),
        ("requests", str(report.requests_sent)),
    ):
        ET.SubElement(props, "property", {"name": name, "value": xml_text(value, 2000)})
    suite.extend(cases)
    if report.errors:
        err = ET.SubElement(suite, "system-err")
        err.text = xml_text("\n".join(report.errors), 20000)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
