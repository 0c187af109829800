"""NO_COLOR / FORCE_COLOR on a real pseudo-terminal, and the one line a failed gate prints."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from apigrade.cli import main
from apigrade.fleet.runner import FleetResult
from apigrade.gates import failures, fleet_gate
from apigrade.model import Finding, Fingerprint, ScanReport, Severity, ToolInfo, finding_id
from apigrade.scoring import score_report
from apigrade.terminal import wants_colour

APIGRADE = str(Path(sys.executable).parent / "apigrade")
ESC = "\x1b["


def _finding(severity: str, n: int) -> Finding:
    url = f"http://127.0.0.1:5000/{n}"
    return Finding(
        id=finding_id("headers.missing-csp", url, None), check_id="headers.missing-csp",
        title="No CSP", severity=severity, confidence="certain", category="misconfiguration",
        owasp="API8:2023", cwe=693, url=url, evidence="no header", description="why",
        remediation="set it",
    )  # fmt: skip


def _report(*severities: str) -> ScanReport:
    findings = [_finding(s, i) for i, s in enumerate(severities)]
    score, grade, cats = score_report(findings)
    return ScanReport(
        tool=ToolInfo(version="0.1.0"), target="http://127.0.0.1:5000/",
        started_at="2026-11-29T10:00:00Z", duration_s=1.0, requests_sent=3, score=score,
        grade=grade, categories=cats, findings=findings, fingerprint=Fingerprint(),
    )  # fmt: skip


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "scan.json"
    path.write_text(_report("high", "critical", "medium", "low").model_dump_json())
    return path


# -- colour ----------------------------------------------------------------------------------
class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("env", "tty", "colour"),
    [
        ({}, True, True),
        ({}, False, False),
        ({"NO_COLOR": "1"}, True, False),
        ({"NO_COLOR": ""}, True, True),  # empty means unset (no-color.org)
        ({"FORCE_COLOR": "1"}, False, True),
        ({"FORCE_COLOR": "0"}, False, True),  # any non-empty value (force-color.org)
        ({"FORCE_COLOR": ""}, False, False),
        ({"NO_COLOR": "1", "FORCE_COLOR": "1"}, True, False),  # NO_COLOR wins
    ],
)
def test_colour_decision(env: dict[str, str], tty: bool, colour: bool) -> None:
    assert wants_colour(_Stream(tty), env) is colour


def _on_a_pty(argv: list[str], env: dict[str, str]) -> str:
    """Run with stdout on a pseudo-terminal; what the terminal received."""
    primary, secondary = pty.openpty()
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen(
        [APIGRADE, *argv], stdout=secondary, stderr=subprocess.PIPE,
        env={**clean, "COLUMNS": "120", **env},
    )  # fmt: skip
    os.close(secondary)
    chunks = []
    while True:
        ready, _, _ = select.select([primary], [], [], 30)
        if not ready:
            break
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    return b"".join(chunks).decode("utf-8", "replace")


def _piped(argv: list[str], env: dict[str, str]) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.run(
        [APIGRADE, *argv], capture_output=True, text=True, timeout=60, env={**clean, **env}
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_terminal_gets_colour_and_no_color_removes_it(saved: Path) -> None:
    coloured = _on_a_pty(["report", str(saved)], {})
    assert ESC in coloured and "Grade" in coloured
    plain = _on_a_pty(["report", str(saved)], {"NO_COLOR": "1"})
    assert ESC not in plain and "Grade" in plain


def test_force_color_colours_a_pipe_and_no_color_wins(saved: Path) -> None:
    assert ESC not in _piped(["report", str(saved)], {})
    forced = _piped(["report", str(saved)], {"FORCE_COLOR": "1"})
    assert ESC in forced and "Grade" in forced
    assert ESC not in _piped(["report", str(saved)], {"FORCE_COLOR": "1", "NO_COLOR": "1"})


def test_files_never_get_colour(saved: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    _piped(["report", str(saved), "-o", str(out)], {"FORCE_COLOR": "1"})
    assert ESC not in out.read_text()


# -- gates -----------------------------------------------------------------------------------
def test_gate_phrases() -> None:
    high = [Severity("high"), Severity("critical"), Severity("low")]
    assert failures(47, high, 70, Severity("high")) == [
        "score 47 < --fail-under 70",
        "2 findings at or above --fail-on high",
    ]
    assert failures(47, high, 40, Severity("critical")) == ["1 finding at or above --fail-on critical"]
    assert failures(70, high, 70, None) == []  # equal passes
    assert failures(47, [Severity("low")], None, Severity("high")) == []


def _gate_lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if "gate failed" in ln]


def test_report_gate_prints_one_line_naming_gate_and_value(
    saved: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    score = ScanReport.model_validate_json(saved.read_text()).score
    assert main(["report", str(saved), "--fail-under", "100", "--fail-on", "high"]) == 1
    lines = _gate_lines(capsys.readouterr().err)
    assert lines == [
        f"apigrade: gate failed: score {score} < --fail-under 100; "
        "2 findings at or above --fail-on high"
    ]
    assert main(["report", str(saved), "--fail-on", "medium", "-f", "json"]) == 1
    assert _gate_lines(capsys.readouterr().err) == [
        "apigrade: gate failed: 3 findings at or above --fail-on medium"
    ]


def test_a_passing_gate_prints_nothing(saved: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(saved), "--fail-under", "0", "--fail-on", "critical"]) == 1
    capsys.readouterr()
    assert main(["report", str(saved), "--fail-under", "0"]) == 0
    assert main(["report", str(saved)]) == 0
    assert _gate_lines(capsys.readouterr().err) == []


def test_scan_gate_prints_the_line(
    serve: Callable[..., str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from apigrade.demo.app import create_app

    url = serve(create_app())
    code = main(["scan", url, "--no-store", "--max-requests", "60", "-f", "json",
                 "-o", str(tmp_path / "r.json"), "--fail-under", "100", "--fail-on", "info"])  # fmt: skip
    err = capsys.readouterr().err
    report = ScanReport.model_validate_json((tmp_path / "r.json").read_text())
    assert code == 1, err
    n = len(report.findings)
    assert _gate_lines(err) == [
        f"apigrade: gate failed: score {report.score} < --fail-under 100; "
        f"{n} finding{'s' if n != 1 else ''} at or above --fail-on info"
    ], err


def test_scan_many_gate_names_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    results = [
        FleetResult(target="http://a.test/", status="completed", score=47, worst="high"),
        FleetResult(target="http://b.test/", status="completed", score=90, worst="low"),
        FleetResult(target="http://c.test/", status="failed", error="down"),
    ]
    out = io.StringIO()
    fleet_gate(results, 70, Severity("high"), stream=out)
    assert out.getvalue() == (
        "apigrade: gate failed: http://a.test/: score 47 < --fail-under 70, "
        "a high finding, at or above --fail-on high\n"
    )
    quiet = io.StringIO()
    fleet_gate(results[1:], 70, Severity("high"), stream=quiet)
    assert quiet.getvalue() == ""


def test_scan_many_prints_the_gate_line(
    serve: Callable[..., str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from apigrade.demo.app import create_app

    url = serve(create_app())
    targets = tmp_path / "targets.txt"
    targets.write_text(f"{url}\n")
    argv = ["scan-many", str(targets), "--no-store", "--max-requests", "40", "-f", "json"]
    assert main([*argv, "--fail-on", "high"]) == 1  # the demo app has high findings
    lines = _gate_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith(f"apigrade: gate failed: {url}: "), lines
    assert "at or above --fail-on high" in lines[0]
    assert main([*argv, "--fail-under", "0"]) == 0
    assert _gate_lines(capsys.readouterr().err) == []
