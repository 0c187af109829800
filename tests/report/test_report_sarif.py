"""SARIF 2.1.0: all rules, GitHub's properties, URL locations, validated twice.

The demo scan's SARIF is checked by Microsoft's SARIF Multitool (``validate`` with the SARIF
and GitHub-ingestion rule sets) and against the official 2.1.0 JSON schema shipped as test
data (the Multitool silently accepts some schema errors, e.g. a bad enum, so both run).
Install the Multitool with:
``npm install --prefix .cache/sarif-multitool @microsoft/sarif-multitool``.
"""

from __future__ import annotations

import io
import json
import ntpath
import os
import posixpath
import subprocess
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jsonschema
import pytest
from reportdata import DATA, EVIL, SCRIPT, demo_report, finding, hostile_report, make_report

from apigrade.checks import load_checks, rule_infos
from apigrade.checks.registry import REGISTRY
from apigrade.cli import main
from apigrade.model import ScanReport
from apigrade.report.sarif import render_sarif

ROOT = Path(__file__).resolve().parents[2]
NATIVE = "node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
# Rule SARIF2006 fetches every URI in the log; tests stay off the network.
OFFLINE_CONFIG = """<?xml version="1.0" encoding="utf-8"?>
<Properties>
  <Properties Key="SARIF2006.UrisShouldBeReachable.Options">
    <Property Key="RuleEnabled" Value="Disabled" />
  </Properties>
</Properties>
"""


def _multitool() -> Path | None:
    env = os.environ.get("APIGRADE_SARIF_MULTITOOL")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT / ".cache/sarif-multitool" / NATIVE)
    return next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)


def _validate(tool: Path, sarif: Path, tmp: Path) -> list[dict[str, Any]]:
    """Results (problems) the Multitool reports for one log."""
    config = tmp / "offline.xml"
    config.write_text(OFFLINE_CONFIG)
    out = tmp / f"{sarif.stem}.validation.sarif"
    proc = subprocess.run(
        [str(tool), "validate", str(sarif), "--output", str(out), "--log", "ForceOverwrite",
         "--rule-kind", "Sarif;Gh", "--config", str(config)],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = json.loads(out.read_text(encoding="utf-8-sig"))
    return [r for run in log["runs"] for r in run.get("results", [])]


def test_demo_sarif_passes_the_sarif_multitool(tmp_path: Path) -> None:
    tool = _multitool()
    if tool is None:
        pytest.fail("SARIF Multitool not installed: npm install --prefix .cache/sarif-multitool "
                    "@microsoft/sarif-multitool (.ci/run installs it)", pytrace=False)  # fmt: skip
    sarif = tmp_path / "demo.sarif"
    sarif.write_text(render_sarif(demo_report(), rule_infos()), encoding="utf-8")
    problems = _validate(tool, sarif, tmp_path)
    assert problems == [], json.dumps(problems, indent=1)[:4000]
    # An incomplete scan (executionSuccessful false, notifications) and odd URLs pass too.
    for name, report in (("hostile", hostile_report()), ("urls", _url_report())):
        (tmp_path / f"{name}.sarif").write_text(render_sarif(report), encoding="utf-8")
        problems = _validate(tool, tmp_path / f"{name}.sarif", tmp_path)
        assert problems == [], json.dumps(problems, indent=1)[:4000]
    # The validator really validates: the same log without $schema breaks a GitHub rule.
    broken = json.loads(sarif.read_text())
    del broken["$schema"]
    (tmp_path / "broken.sarif").write_text(json.dumps(broken))
    ids = {r["ruleId"] for r in _validate(tool, tmp_path / "broken.sarif", tmp_path)}
    assert "GH1013" in ids


def _schema_errors(log: dict[str, Any]) -> list[str]:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]


def test_demo_and_hostile_sarif_match_the_official_schema() -> None:
    for report in (demo_report(), hostile_report(), make_report([]), _url_report()):
        log = json.loads(render_sarif(report, rule_infos()))
        assert _schema_errors(log) == []
    assert _schema_errors({"version": "2.1.0", "runs": [{"results": [{"level": "bad"}]}]})


def test_every_check_is_a_rule_with_github_properties() -> None:
    load_checks()
    log = json.loads(render_sarif(demo_report(), rule_infos()))
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [m.id for m in REGISTRY.metas()]  # all, fired or not
    levels = {"critical": "error", "high": "error", "medium": "warning", "low": "note",
              "info": "note"}  # fmt: skip
    for rule, meta in zip(rules, REGISTRY.metas(), strict=True):
        tags = rule["properties"]["tags"]
        assert "security" in tags and f"external/cwe/cwe-{meta.cwe}" in tags
        assert f"owasp-{meta.owasp.lower()}" in tags
        assert rule["defaultConfiguration"]["level"] == levels[meta.severity.value]
        sev = rule["properties"]["security-severity"]
        assert _github_band(sev) == GITHUB_BAND[meta.severity.value], (meta.id, sev)
        assert meta.remediation[:40] in rule["help"]["text"]
        assert "**Fix:**" in rule["help"]["markdown"]
    debugger = next(r for r in rules if r["id"] == "files.dotenv")
    assert "external/cwe/cwe-538" in debugger["properties"]["tags"]
    assert "owasp-api8:2023" in debugger["properties"]["tags"]


def test_results_point_at_rules_urls_and_stable_ids() -> None:
    report = demo_report()
    run = json.loads(render_sarif(report))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len(run["results"]) == len(report.findings) > 0
    assert "originalUriBaseIds" not in run  # nothing is relative to a base any more
    for result, f in zip(run["results"], report.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == f.check_id
        assert result["partialFingerprints"] == {
            "apigradeFindingId/v1": f.id, "primaryLocationLineHash": f"{f.id}:1"}  # fmt: skip
        location = result["locations"][0]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert set(artifact) == {"uri"}  # no uriBaseId: GitHub would ignore it anyway
        assert artifact["uri"].startswith("apigrade-url/http/testserver")
        assert location["logicalLocations"] == [
            {"name": f.url, "fullyQualifiedName": f"{f.method} {f.url}", "kind": "resource"}
        ]
        assert result["webRequest"] == {"method": f.method, "target": f.url}
        assert f.url in result["message"]["text"]
    dotenv = next(r for r in run["results"] if r["ruleId"] == "files.dotenv")
    artifact = dotenv["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact["uri"] == "apigrade-url/http/testserver/static/.env"
    assert dotenv["level"] == "error"


def test_url_locations_are_readable_references() -> None:
    run = json.loads(render_sarif(_url_report()))["runs"][0]
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in run["results"]]  # fmt: skip
    assert uris[:6] == [
        "apigrade-url/http/127.0.0.1:5000",
        "apigrade-url/http/127.0.0.1:5000/static/config.py",
        "apigrade-url/http/127.0.0.1:5000/a%20b/%3Cx%3E%3Fq=1%202&r=A",
        "apigrade-url/http/127.0.0.1:5000/c:d",
        "apigrade-url/https/other.example:8443/x",
        "apigrade-url/http/%5B::1%5D:8080/x",
    ]
    for uri in uris:
        assert urlsplit(uri).scheme == "" and not uri.startswith("/")  # relative, no scheme
        assert uri == quote(uri, safe="/!$&'()*+,;=:@-._~%")  # only URI characters


def test_no_location_resolves_to_a_repository_file(tmp_path: Path) -> None:
    """Resolved the way GitHub's uploader does (decoded, joined to the checkout, on Linux and
    Windows runners), every location stays in ``apigrade-url/``, even for a checkout that
    has a file at every path the findings name."""
    report = make_report([*demo_report().findings, *_url_report().findings])
    checkout = tmp_path / "repo"
    for f in report.findings:
        path = unquote(urlsplit(f.url).path).lstrip("/")
        if path and ".." not in path and "\\" not in path:
            (checkout / path).parent.mkdir(parents=True, exist_ok=True)
            (checkout / path).write_text("not a finding\n")
    (checkout / "etc").mkdir(exist_ok=True)
    (checkout / "etc" / "passwd").write_text("root\n")
    assert (checkout / "static" / "config.py").is_file()
    run = json.loads(render_sarif(report))["runs"][0]
    assert len(run["results"]) == len(report.findings)
    for result in run["results"]:
        for location in result["locations"]:
            uri = location["physicalLocation"]["artifactLocation"]["uri"]
            assert not (checkout / unquote(uri)).exists(), uri
            for once in (unquote(uri), unquote(unquote(uri))):  # decoded once, or twice
                for flavour, root in ((posixpath, str(checkout)), (ntpath, "D:\\a\\repo")):
                    joined = flavour.normpath(flavour.join(root, once))
                    folder = flavour.join(root, "apigrade-url") + flavour.sep
                    assert joined.startswith(folder), (uri, joined)
    # The old form, a path relative to the checkout, named the unrelated repository file.
    config = next(r for r in run["results"] if r["webRequest"]["target"].endswith("config.py"))
    uri = config["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri != "static/config.py" and not (checkout / uri).exists()


def test_rules_have_help_uris_for_every_listed_check() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["checks", "--format", "json"]) == 0
    listed = {c["id"]: c for c in json.loads(out.getvalue())}
    log = json.loads(render_sarif(demo_report(), rule_infos()))
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert listed and set(listed) <= set(rules)
    metas = {m.id: m for m in REGISTRY.metas()}
    for check_id, check in listed.items():
        uri = rules[check_id]["helpUri"]
        assert urlsplit(uri).scheme == "https" and urlsplit(uri).netloc, (check_id, uri)
        links = [r for r in metas[check_id].references if r.startswith("https://")]
        cwe_page = f"https://cwe.mitre.org/data/definitions/{check['cwe']}.html"
        assert uri == (links[0] if links else cwe_page), check_id
    # The eight checks without a reference of their own get their CWE's page.
    assert rules["headers.missing-csp"]["helpUri"] == (
        "https://cwe.mitre.org/data/definitions/693.html"
    )
    assert rules["jwt.missing-exp"]["helpUri"] == (
        "https://cwe.mitre.org/data/definitions/613.html"
    )
    # A check only a saved report knows (a newer version) gets one as well.
    unknown = make_report([finding(check_id="future.check", cwe=352)])
    unknown_log = json.loads(render_sarif(unknown, rule_infos()))
    rule = next(r for r in unknown_log["runs"][0]["tool"]["driver"]["rules"]
                if r["id"] == "future.check")  # fmt: skip
    assert rule["helpUri"] == "https://cwe.mitre.org/data/definitions/352.html"


def test_driver_full_name_and_one_category_per_target() -> None:
    run = json.loads(render_sarif(make_report([finding()])))["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "apigrade"
    assert driver["fullName"] == "apigrade 0.1.0, black-box security scanner for web APIs"
    assert run["automationDetails"] == {"id": "apigrade/http/127.0.0.1:5000/"}

    def category(target: str) -> str:
        report = make_report([finding()], target=target)
        auto_id = json.loads(render_sarif(report))["runs"][0]["automationDetails"]["id"]
        assert auto_id.endswith("/")  # GitHub: everything before the last "/" is the category
        return str(auto_id.rsplit("/", 1)[0])

    assert category("http://127.0.0.1:5000/deep/path?x=1") == "apigrade/http/127.0.0.1:5000"
    assert category("https://api.example.com/") == "apigrade/https/api.example.com"
    assert category("http://127.0.0.1:5001/") != category("http://127.0.0.1:5000/")
    assert category("http://user:secret@h.example/") == "apigrade/http/h.example"  # no userinfo
    hostile = json.loads(render_sarif(hostile_report()))["runs"][0]["automationDetails"]["id"]
    assert hostile == "apigrade/http/127.0.0.1:5000/"  # the target's path never reaches it


def test_info_is_low_band_security_severity() -> None:
    levels = {}
    for sev in ("critical", "high", "medium", "low", "info"):
        report = make_report([finding(check_id=f"x.{sev}", severity=sev)])
        rule = next(r for r in json.loads(render_sarif(report))["runs"][0]["tool"]["driver"]
                    ["rules"] if r["id"] == f"x.{sev}")  # fmt: skip
        levels[sev] = rule["properties"]["security-severity"]
        assert _github_band(levels[sev]) == GITHUB_BAND[sev]
    assert levels["info"] != "0.0" and _github_band("0.0") is None  # 0.0 means "no severity"
    assert float(levels["info"]) < float(levels["low"]) < float(levels["medium"])


def test_execution_successful_follows_scan_completeness() -> None:
    done = json.loads(render_sarif(make_report([finding()])))["runs"][0]["invocations"]
    assert done == [{"executionSuccessful": True, "startTimeUtc": "2026-11-29T10:00:00Z"}]
    partial = make_report([finding()], complete=False, errors=["budget exhausted", "probe failed"])
    inv = json.loads(render_sarif(partial))["runs"][0]["invocations"]
    assert inv[0]["executionSuccessful"] is False
    assert [n["message"]["text"] for n in inv[0]["toolExecutionNotifications"]] == [
        "budget exhausted", "probe failed"]  # fmt: skip
    # Incomplete without a recorded error is still unsuccessful.
    bare = json.loads(render_sarif(make_report([], complete=False)))["runs"][0]["invocations"]
    assert bare[0]["executionSuccessful"] is False


def test_target_text_is_inert_in_sarif() -> None:
    text = render_sarif(hostile_report())
    log = json.loads(text)
    for ch in ("\x1b", "\x07", "\x9b", "\x00", "\u202e"):
        assert ch not in text and json.dumps(ch)[1:-1] not in text  # neither raw nor \u001b
    run = log["runs"][0]
    evil_rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "evil.check")
    md = evil_rule["help"]["markdown"]
    assert "<script" not in md and "&lt;script&gt;" in md and "](javascript" not in md
    assert "\\x1b" in run["results"][0]["message"]["text"]  # shown, not executed
    assert SCRIPT in run["results"][0]["message"]["text"]  # plain text, JSON-escaped
    assert EVIL not in json.dumps(log)  # the control characters never survive


def test_sarif_is_deterministic() -> None:
    assert render_sarif(demo_report(), rule_infos()) == render_sarif(demo_report(), rule_infos())


#: GitHub's security-severity bands (SARIF support for code scanning, reportingDescriptor).
GITHUB_BAND = {"critical": "critical", "high": "high", "medium": "medium", "low": "low",
               "info": "low"}  # fmt: skip


def _github_band(value: str) -> str | None:
    """The band GitHub shows for a security-severity: over 9.0 critical, 7.0-8.9 high,
    4.0-6.9 medium, 0.1-3.9 low; 0.0 or anything else: no security severity."""
    score = float(value)
    if 9.0 < score <= 10.0:
        return "critical"
    for low, high, band in ((7.0, 8.9, "high"), (4.0, 6.9, "medium"), (0.1, 3.9, "low")):
        if low <= score <= high:
            return band
    return None


def _url_report() -> ScanReport:
    """Findings at URLs a location must survive: root, query, colon, other origin, IPv6, and
    paths that would climb out of any folder once decoded (dot segments, %2e, backslashes)."""
    urls = [
        "http://127.0.0.1:5000/",
        "http://127.0.0.1:5000/static/config.py",
        "http://127.0.0.1:5000/a b/<x>?q=1 2&r=%41",
        "http://127.0.0.1:5000/c:d",
        "https://other.example:8443/x",
        "http://[::1]:8080/x",
        "http://127.0.0.1:5000/static/../../../../static/config.py",
        "http://127.0.0.1:5000/%2e%2e/%2E%2E/%2e%2e/%2e%2e/etc/passwd",
        "http://127.0.0.1:5000/%252e%252e/%252e%252e/%252E%252E/%252e%252e/etc/passwd",
        "http://127.0.0.1:5000/a\\..\\..\\..\\..\\etc\\passwd",
        "http://127.0.0.1:5000/x?next=/../../../../etc/passwd&u=%2F..%2F..",
        "http://127.0.0.1:5000/.. /. /.../x",
        "http://127.0.0.1:5000/\x1b[31m..\x00/y",
    ]
    load_checks()
    checks = sorted(m.id for m in REGISTRY.metas())
    return make_report([finding(url=u, check_id=checks[i]) for i, u in enumerate(urls)])
