"""SARIF of an in-process scan: findings with a source location point at real files and
lines of the fixture project (relative to the repository root); Microsoft's SARIF
Multitool and the official 2.1.0 schema accept the log."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path

import pytest
from greyapps import ROOT, app_of, base_url

import apigrade
from apigrade.checks import rule_infos
from apigrade.model import ScanReport, SourceLocation
from apigrade.report.sarif import render_sarif, source_uri

sys.path.insert(0, str(ROOT / "tests" / "report"))
from test_report_sarif import _multitool, _schema_errors, _validate  # noqa: E402


@cache
def _report(framework: str) -> ScanReport:
    with app_of(framework, "flawed") as app:
        return apigrade.scan(app, base_url=base_url(framework, "flawed"))


@pytest.mark.parametrize("framework", ["flask", "fastapi", "django"])
def test_source_locations_resolve_to_project_lines(framework: str) -> None:
    report = _report(framework)
    log = json.loads(render_sarif(report, rule_infos()))
    assert _schema_errors(log) == []
    results = log["runs"][0]["results"]
    located = 0
    for result, f in zip(results, report.findings, strict=True):
        physical = result["locations"][0]["physicalLocation"]
        uri, line = physical["artifactLocation"]["uri"], physical["region"]["startLine"]
        if f.location is None:
            assert uri.startswith("apigrade-url/")  # a black-box finding keeps its URL
            continue
        located += 1
        assert (uri, line) == (f.location.path, f.location.line)
        lines = (ROOT / uri).read_text(encoding="utf-8").splitlines()
        assert 1 <= line <= len(lines)
        assert result["webRequest"]["target"] == f.url  # the URL stays in the result
    assert located >= 5


def test_in_process_sarif_passes_the_multitool(tmp_path: Path) -> None:
    tool = _multitool()
    if tool is None:
        pytest.fail("SARIF Multitool not installed: npm install --prefix .cache/sarif-multitool "
                    "@microsoft/sarif-multitool", pytrace=False)  # fmt: skip
    for framework in ("flask", "django"):
        sarif = tmp_path / f"{framework}.sarif"
        sarif.write_text(render_sarif(_report(framework), rule_infos()), encoding="utf-8")
        problems = _validate(tool, sarif, tmp_path)
        assert problems == [], json.dumps(problems, indent=1)[:4000]


@pytest.mark.parametrize("path", ["../../etc/passwd", "/etc/passwd", "a/../../b.py", "C:/x.py",
                                  "a\\b.py", "", "a//b.py", "./a.py", "a/ ./b.py"])  # fmt: skip
def test_a_location_that_could_leave_the_checkout_falls_back_to_the_url(path: str) -> None:
    assert source_uri(path) is None
    report = _report("flask")
    hostile = report.model_copy(update={"findings": [
        f.model_copy(update={"location": SourceLocation.model_construct(path=path, line=3)})
        for f in report.findings[:2]]})  # fmt: skip
    for result in json.loads(render_sarif(hostile))["runs"][0]["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("apigrade-url/")


def test_source_uri_quotes_odd_characters() -> None:
    assert source_uri("src/my app/views.py") == "src/my%20app/views.py"
    assert source_uri("pkg/views.py") == "pkg/views.py"
