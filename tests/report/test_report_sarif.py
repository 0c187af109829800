"""SARIF 2.1.0: all rules, GitHub's properties, relative locations, validated twice.

The demo scan's SARIF is checked by Microsoft's SARIF Multitool (``validate`` with the SARIF
and GitHub-ingestion rule sets) and against the official 2.1.0 JSON schema shipped as test
data (the Multitool silently accepts some schema errors, e.g. a bad enum, so both run).
Install the Multitool with:
``npm install --prefix .cache/sarif-multitool @microsoft/sarif-multitool``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from reportdata import DATA, EVIL, SCRIPT, demo_report, finding, hostile_report, make_report

from apigrade.checks import load_checks
from apigrade.checks.registry import REGISTRY
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
        pytest.skip("SARIF Multitool not installed: npm install --prefix .cache/sarif-multitool "
                    "@microsoft/sarif-multitool")  # fmt: skip
    sarif = tmp_path / "demo.sarif"
    sarif.write_text(render_sarif(demo_report()), encoding="utf-8")
    problems = _validate(tool, sarif, tmp_path)
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
    for report in (demo_report(), hostile_report(), make_report([])):
        log = json.loads(render_sarif(report))
        assert _schema_errors(log) == []
    assert _schema_errors({"version": "2.1.0", "runs": [{"results": [{"level": "bad"}]}]})


def test_every_check_is_a_rule_with_github_properties() -> None:
    load_checks()
    log = json.loads(render_sarif(demo_report()))
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
        sev = float(rule["properties"]["security-severity"])
        assert {"critical": sev >= 9, "high": 7 <= sev < 9, "medium": 4 <= sev < 7,
                "low": 0 < sev < 4, "info": sev == 0}[meta.severity.value]  # fmt: skip
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
    base = run["originalUriBaseIds"]["TARGET"]["uri"]
    assert base == "http://testserver/"
    for result, f in zip(run["results"], report.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == f.check_id
        assert result["partialFingerprints"] == {"apigradeFindingId/v1": f.id}
        loc = result["locations"][0]["physicalLocation"]["artifactLocation"]
        assert loc["uriBaseId"] == "TARGET" and not loc["uri"].startswith(("http", "/"))
        assert loc["uri"]  # GitHub rejects empty URIs; the root is "./"
        assert f.url in result["message"]["text"]
    dotenv = next(r for r in run["results"] if r["ruleId"] == "files.dotenv")
    assert dotenv["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "static/.env"
    assert dotenv["level"] == "error"


def test_relative_uris_are_valid_references() -> None:
    report = make_report([
        finding(url="http://127.0.0.1:5000/"),
        finding(url="http://127.0.0.1:5000/a b/<x>?q=1 2&r=%41", check_id="headers.missing-nosniff"),
        finding(url="http://127.0.0.1:5000/c:d", check_id="cookie.missing-samesite"),
        finding(url="https://other.example:8443/x", check_id="banner.version-disclosure"),
    ])  # fmt: skip
    run = json.loads(render_sarif(report))["runs"][0]
    locs = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert [loc["uri"] for loc in locs] == ["./", "a%20b/%3Cx%3E?q=1%202&r=%41", "./c:d", "x"]
    assert locs[3]["uriBaseId"] == "ORIGIN1"
    assert run["originalUriBaseIds"]["ORIGIN1"]["uri"] == "https://other.example:8443/"


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
    assert render_sarif(demo_report()) == render_sarif(demo_report())
