"""A stored report as an HTML page: the HTML reporter when present, else a minimal page."""

from __future__ import annotations

from html import escape

from apigrade.model import ScanReport
from apigrade.report import renderer
from apigrade.report.escape import strip_controls

#: Report pages hold target-controlled text: an opaque-origin sandbox, nothing external.
REPORT_CSP = (
    "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'"
)


def report_html(report: ScanReport) -> str:
    """The HTML report of a scan."""
    render = renderer("html")
    if render is not None:
        return render(report)
    return minimal_html(report)


def minimal_html(report: ScanReport) -> str:
    """A plain, fully escaped page (used when no HTML reporter is installed)."""

    def e(value: object) -> str:
        return escape(strip_controls(str(value)))

    rows = "".join(
        f"<tr><td>{e(f.severity.value)}</td><td>{e(f.title)}</td><td>{e(f.url)}</td>"
        f"<td>{e(f.evidence[:300])}</td></tr>"
        for f in report.findings
    )
    return (
        "<!doctype html><html><head><meta charset=\"utf-8\">"
        f"<title>apigrade report: {e(report.target)}</title></head><body>"
        f"<h1>{e(report.target)}</h1><p>Grade <b>{e(report.grade)}</b>, score "
        f"{e(report.score)}, {len(report.findings)} findings, {e(report.started_at)}</p>"
        "<table><tr><th>severity</th><th>title</th><th>url</th><th>evidence</th></tr>"
        f"{rows}</table></body></html>"
    )
