"""A report format: ``apigrade scan URL -f csv`` (or ``--output-dir`` writes apigrade.csv)."""

from __future__ import annotations

import csv
import io

from apigrade.model import ScanReport
from apigrade.plugins import Reporter


def render_csv(report: ScanReport) -> str:
    """One row per finding; a reporter is a pure function of the report."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["check", "severity", "method", "url", "title"])
    for f in report.findings:
        writer.writerow([f.check_id, f.severity.value, f.method, f.url, f.title])
    return out.getvalue()


CSV = Reporter(name="csv", extension=".csv", render=render_csv)
