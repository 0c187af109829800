"""Reports for the report tests: the demo target's scan and a hostile target's report."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from apigrade.model import Finding, Fingerprint, ScanReport, ToolInfo, finding_id
from apigrade.scoring import score_report

CHROMIUM = "/usr/bin/chromium"
DATA = Path(__file__).parent / "data"

#: Each would leave a visible effect (title, element) if it ever ran in a page.
SCRIPT = "<script>document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.body.appendChild(document.createElement('pwned-img'))\">"
SVG = "<svg onload=\"document.body.appendChild(document.createElement('pwned-svg'))\">"
BREAKOUT = (
    "\"'></pre></code></style></title></textarea></summary></details>"
    "<script>document.body.appendChild(document.createElement('pwned-breakout'))</script>"
)
IFRAME = "<iframe srcdoc=\"<script>parent.document.title='PWNED-IFRAME'</script>\"></iframe>"
MARKDOWN = "| pipe | ``` fence `tick` [link](javascript:alert(1)) ![x](https://evil.test/t.png) @octocat <!-- x -->"
TERMINAL = "\x1b[2J\x1b]0;pwned\x07\x9b31m\u202egnp.exe\x00"
TEMPLATE = "{{ 7*191 }} {% raw %}"
EVIL = f"{SCRIPT} {IMG} {SVG} {BREAKOUT} {IFRAME} {MARKDOWN} {TERMINAL} {TEMPLATE}"
EFFECTS = ("<pwned-img", "<pwned-svg", "<pwned-breakout")  # elements the payloads would add


def make_report(findings: list[Finding], **kw: Any) -> ScanReport:
    score, grade, cats = score_report(findings)
    fields: dict[str, Any] = dict(
        tool=ToolInfo(version="0.1.0"), target="http://127.0.0.1:5000/",
        started_at="2026-11-29T10:00:00Z", duration_s=1.5, requests_sent=42, score=score,
        grade=grade, categories=cats, fingerprint=Fingerprint(server="Werkzeug/3.1"),
        findings=findings,
    )  # fmt: skip
    fields.update(kw)
    return ScanReport(**fields)


def finding(**kw: Any) -> Finding:
    fields: dict[str, Any] = dict(
        check_id="headers.missing-csp", title="No CSP", severity="low", confidence="certain",
        category="misconfiguration", owasp="API8:2023", cwe=693, url="http://127.0.0.1:5000/",
        evidence="no header", description="why", remediation="set `Content-Security-Policy`",
    )  # fmt: skip
    fields.update(kw)
    fields.setdefault("id", finding_id(fields["check_id"], fields["url"], fields.get("parameter")))
    return Finding(**fields)


def hostile_report() -> ScanReport:
    """Target-controlled text in every field a target can influence."""
    findings = [
        finding(
            check_id="banner.version-disclosure", title=f"Banner {EVIL}", severity="high",
            url=f"http://127.0.0.1:5000/a?q={SCRIPT}&x=|`", parameter=EVIL, evidence=EVIL,
            description=f"desc {EVIL}", remediation=f"fix `{SCRIPT}` then {IMG}\nsecond {EVIL}",
            owasp="API8:2023",
        ),
        finding(
            check_id="evil.check", title=EVIL, severity="critical", evidence=EVIL * 3,
            url=f"http://127.0.0.1:5000/{IMG}", remediation=EVIL,
        ),
        finding(check_id="tls.cleartext-http", title="Cleartext", severity="info", evidence=EVIL),
    ]  # fmt: skip
    report = make_report(
        findings,
        target=f"http://127.0.0.1:5000/{SCRIPT}",
        fingerprint=Fingerprint(server=EVIL, frameworks=[SCRIPT, TERMINAL]),
        errors=[f"probe failed: {EVIL}"],
        complete=False,
    )
    report.categories[f"cat{SCRIPT}"] = report.categories["misconfiguration"]
    return report


@cache
def demo_report() -> ScanReport:
    """The bundled demo target, scanned in-process once per test session, black-box as
    ``apigrade demo`` scans it (URL findings; grey-box scans: tests/inprocess)."""
    import apigrade
    from apigrade.demo.app import create_app

    return apigrade.scan(create_app(), grey_box=False)


def chromium(*args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    """Headless Chromium with a fresh profile and no background network."""
    profile = tempfile.mkdtemp(prefix="apigrade-chromium-")
    try:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args],
            capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)
