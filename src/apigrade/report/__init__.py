"""Reporters: pure functions from the scan result model to text."""

from __future__ import annotations

from collections.abc import Callable

from apigrade.model import ScanReport

FORMATS = ("text", "json", "sarif", "html", "markdown", "junit")
EXTENSIONS = {
    "text": ".txt",
    "json": ".json",
    "sarif": ".sarif",
    "html": ".html",
    "markdown": ".md",
    "junit": ".junit.xml",
}


def renderer(fmt: str) -> Callable[[ScanReport], str] | None:
    """The renderer for a format, or None when this version cannot write it yet."""
    if fmt == "json":
        from apigrade.report.json import render_json

        return render_json
    if fmt == "text":
        from apigrade.report.text import render_text

        return lambda r: render_text(r, color=False)
    return None
