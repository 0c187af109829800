"""A single self-contained HTML report: grade badge, charts, filterable findings.

No network: CSS, JS and SVG are inline, no element has a ``src`` or ``href``, and a strict
Content-Security-Policy allows only this file's own script and style, by hash (a hash, not
a nonce, keeps the output byte-identical for the same report). Everything from the target is
autoescaped by Jinja2 and shown as text; URLs are never links.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from apigrade import rx
from apigrade.model import Finding, ScanReport, Severity
from apigrade.report.escape import strip_controls

GRADE_CLASS = {"A": "good", "B": "good", "C": "fair", "D": "poor", "F": "bad"}


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("apigrade.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _t(value: object, limit: int = 4000) -> str:
    """Target text for the page: controls visible as \\xNN, bounded; escaping is Jinja's."""
    text = rx.replace_surrogates(strip_controls(str(value)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _score_class(score: int) -> str:
    return "good" if score >= 90 else "fair" if score >= 70 else "poor" if score >= 60 else "bad"


def _prose(value: str) -> list[list[tuple[bool, str]]]:
    """Lines of check prose split into (is_code, text) runs at `backticks`."""
    lines = []
    for line in _t(value, 6000).strip().splitlines():
        parts = line.split("`")
        if len(parts) % 2 == 0:
            lines.append([(False, line)])
        else:
            lines.append([(i % 2 == 1, p) for i, p in enumerate(parts) if p])
    return lines


@dataclass
class FindingView:
    f: Finding
    title: str
    check_id: str
    where: str
    parameter: str
    evidence: str
    description: list[list[tuple[bool, str]]]
    remediation: list[list[tuple[bool, str]]]
    owasp: str


def _finding(f: Finding) -> FindingView:
    return FindingView(
        f=f,
        title=_t(f.title, 300),
        check_id=_t(f.check_id, 100),
        where=_t(f"{f.method} {f.url}", 2000),
        parameter=_t(f.parameter or "", 300),
        evidence=_t(f.evidence, 4000),
        description=_prose(f.description),
        remediation=_prose(f.remediation),
        owasp=_t(f.owasp, 40),
    )


@dataclass
class Bar:
    label: str
    value: int
    extra: str
    css: str
    y: int = 0


@dataclass
class Trend:
    points: str
    dots: list[tuple[float, float, str, int]] = field(default_factory=list)


def _trend(trend: list[tuple[str, int]] | None) -> Trend | None:
    """Polyline coordinates for scores over time in a 600x160 box (y: 0 at the bottom)."""
    if not trend:
        return None
    n = len(trend)
    dots = []
    for i, (day, score) in enumerate(trend):
        x = 40 + (520 * i / (n - 1) if n > 1 else 260)
        y = 20 + 120 * (1 - max(0, min(100, int(score))) / 100)
        dots.append((round(x, 1), round(y, 1), _t(day, 40), int(score)))
    return Trend(points=" ".join(f"{x},{y}" for x, y, _, _ in dots), dots=dots)


def _categories(report: ScanReport) -> list[Bar]:
    bars = []
    for i, (name, cs) in enumerate(report.categories.items()):
        extra = f"{cs.findings} finding{'s' if cs.findings != 1 else ''}" if cs.findings else ""
        bars.append(Bar(_t(name, 40), cs.score, extra, _score_class(cs.score), y=i * 28))
    return bars


@dataclass
class Segment:
    """One severity's share of the stacked bar (600 units wide)."""

    label: str
    count: int
    x: int
    width: int
    css: str


def _severities(report: ScanReport) -> list[Segment]:
    total = max(1, len(report.findings))
    segments, x = [], 0
    for sev in Severity:
        n = sum(1 for f in report.findings if f.severity == sev)
        width = round(600 * n / total)
        segments.append(Segment(sev.value, n, x, width, f"sev-{sev.value}"))
        x += width
    return segments


def render_html(report: ScanReport, trend: list[tuple[str, int]] | None = None) -> str:
    """The report as one HTML file; ``trend`` (date, score) pairs draw a history chart."""
    env = _env()
    style = env.get_template("report.css.j2").render()
    script = env.get_template("report.js.j2").render()
    findings = sorted(report.findings, key=lambda f: -f.severity.rank)
    categories = sorted({f.category.value for f in findings})
    page = env.get_template("report.html.j2").render(
        r=report,
        target=_t(report.target, 2000),
        server=_t(report.fingerprint.server or "unknown", 300),
        frameworks=_t(", ".join(report.fingerprint.frameworks) or "unknown", 300),
        started=_t(report.started_at, 40),
        version=_t(report.tool.version, 40),
        grade=_t(report.grade, 1),
        grade_class=GRADE_CLASS.get(report.grade, "bad"),
        score_class=_score_class(report.score),
        bars=_categories(report),
        severities=_severities(report),
        findings=[_finding(f) for f in findings],
        filter_categories=categories,
        errors=[_t(e, 500) for e in report.errors[:50]],
        trend=_trend(trend),
        style=Markup(style),
        script=Markup(script),
        csp=f"default-src 'none'; script-src '{_csp_hash(script)}'; "
        f"style-src '{_csp_hash(style)}'; img-src 'none'; base-uri 'none'; form-action 'none'",
    )
    return page
