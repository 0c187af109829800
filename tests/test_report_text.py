"""The text report: content, colour only on a terminal, nothing from the target executes."""

from __future__ import annotations

from typing import Any

from flask import Flask

from apigrade.model import Category, Finding
from apigrade.report.text import render_text
from apigrade.scoring import score_report
from conftest import by_check, scan_app

EVIL = "Werkzeug/0.1 \x1b[2J\x1b]0;pwned\x07\x1b[31mred[bold]markup[/bold]\x9b31m"


def evil_app() -> Flask:
    app = Flask(__name__)

    @app.after_request
    def banner(resp: Any) -> Any:
        resp.headers["X-Powered-By"] = EVIL
        return resp

    @app.route("/")
    def index() -> str:
        return "<title>x</title>hi"

    return app


def test_target_controls_never_reach_the_terminal() -> None:
    report = scan_app(evil_app())
    assert by_check(report, "banner.version-disclosure"), report.findings
    for color in (False, True):
        out = render_text(report, color=color)
        assert "\x07" not in out and "\x9b" not in out
        assert "\x1b]" not in out and "\x1b[2J" not in out
        if not color:
            assert "\x1b" not in out
        assert "[bold]markup[/bold]" in out  # shown literally, not interpreted


def test_report_shows_grade_categories_findings_and_fix() -> None:
    f = Finding(
        id="1", check_id="flask.x", title="Debugger exposed", severity="high",
        confidence="certain", category="misconfiguration", owasp="API8:2023", cwe=489,
        url="http://t/", evidence="proof here", remediation="DEBUG = False\nuse gunicorn",
    )  # fmt: skip
    from apigrade.model import Fingerprint, ScanReport, ToolInfo

    score, grade, cats = score_report([f])
    report = ScanReport(
        tool=ToolInfo(version="0"), target="http://t/", started_at="2026-01-01T00:00:00Z",
        duration_s=1.0, requests_sent=3, score=score, grade=grade, categories=cats,
        fingerprint=Fingerprint(), findings=[f],
    )  # fmt: skip
    out = render_text(report)
    assert f"Grade {grade}" in out and f"score {score}/100" in out
    for cat in Category:
        assert cat.value in out
    assert "HIGH (1)" in out and "proof here" in out and "use gunicorn" in out
    assert "\x1b" not in out


def test_one_line_escapes_controls_and_bidi() -> None:
    from apigrade.report.escape import one_line

    out = one_line("a\x1b[31mb\u202ec\nd\x00")
    assert out == "a\\x1b[31mb\\x202ec d\\x00"
