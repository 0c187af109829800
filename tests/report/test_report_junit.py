"""JUnit XML: a testcase per check, failures from a threshold, always well-formed XML 1.0."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from reportdata import SCRIPT, demo_report, finding, hostile_report, make_report

from apigrade.checks import load_checks, rule_infos
from apigrade.checks.registry import REGISTRY
from apigrade.model import Severity
from apigrade.report import renderer
from apigrade.report.junit import render_junit, xml_text


def _cases(xml: str) -> dict[str, ET.Element]:
    root = ET.fromstring(xml)
    return {c.get("name", "").split(":")[0]: c for c in root.iter("testcase")}


def test_one_testcase_per_check_and_failures_by_default_threshold() -> None:
    load_checks()
    report = demo_report()
    xml = render_junit(report, rules=rule_infos())
    root = ET.fromstring(xml)
    cases = _cases(xml)
    assert list(cases) == [m.id for m in REGISTRY.metas()]
    failing = {f.check_id for f in report.findings if f.severity is not Severity.INFO}
    assert {k for k, c in cases.items() if c.find("failure") is not None} == failing
    suite = root.find("testsuite")
    assert suite is not None
    assert root.get("tests") == suite.get("tests") == str(len(cases))
    assert root.get("failures") == str(len(failing))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["grade"] == report.grade and props["fail-on"] == "low"
    info = next(f for f in report.findings if f.severity is Severity.INFO)
    out = cases[info.check_id].find("system-out")
    assert out is not None and info.title in (out.text or "")
    assert renderer("junit", rules=rule_infos())(report) == xml  # the default: info never fails


def test_threshold_and_one_failure_listing_each_finding() -> None:
    report = make_report([
        finding(severity="high", url="http://127.0.0.1:5000/a", title="A"),
        finding(severity="low", url="http://127.0.0.1:5000/b", title="B"),
        finding(severity="medium", check_id="headers.missing-nosniff", title="C"),
    ])  # fmt: skip
    high = _cases(render_junit(report, fail_on=Severity.HIGH))
    csp = high["headers.missing-csp"]
    failures = csp.findall("failure")
    assert len(failures) == 1 and failures[0].get("type") == "high"
    assert "1 finding: A at GET http://127.0.0.1:5000/a" == failures[0].get("message")
    assert "B" in (csp.findtext("system-out") or "")
    assert high["headers.missing-nosniff"].find("failure") is None
    low = _cases(render_junit(report, fail_on=Severity.LOW))["headers.missing-csp"]
    text = low.findtext("failure") or ""
    assert "HIGH A" in text and "LOW B" in text and low.find("system-out") is None


def test_hostile_text_stays_well_formed_and_inert() -> None:
    xml = render_junit(hostile_report(), fail_on=Severity.INFO)
    root = ET.fromstring(xml)  # parses: escaped, no illegal characters
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202e]", xml)
    assert "<script" not in xml and "&lt;script&gt;" in xml
    assert "evil.check" in _cases(xml)  # a check this version does not know still counts
    texts = " ".join(e.text or "" for e in root.iter()) + " ".join(
        v for e in root.iter() for v in e.attrib.values()
    )
    assert SCRIPT in texts and "\\x1b[2J" in texts


def test_xml_text_drops_what_xml_cannot_carry() -> None:
    assert xml_text("a\x00b\x1bc\ud800d\ufffee\U0001f600") == "a\\x00b\\x1bcde\U0001f600"


def test_undecodable_text_never_breaks_a_renderer() -> None:
    from apigrade.report.html import render_html
    from apigrade.report.markdown import render_markdown
    from apigrade.report.sarif import render_sarif

    report = make_report([finding(evidence="bytes \udc80\udcff", title="t\ud800")])
    for render in (render_junit, render_sarif, render_html, render_markdown):
        render(report).encode("utf-8")  # lone surrogates replaced or dropped
