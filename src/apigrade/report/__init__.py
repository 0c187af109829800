"""Reporters: pure functions from the scan result model to text."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from apigrade.model import RuleInfo, ScanReport, Severity

FORMATS = ("text", "json", "sarif", "html", "markdown", "junit")
EXTENSIONS = {
    "text": ".txt",
    "json": ".json",
    "sarif": ".sarif",
    "html": ".html",
    "markdown": ".md",
    "junit": ".junit.xml",
}

#: formats whose renderers take ``rules=`` (every check a rule or a testcase)
RULE_FORMATS = frozenset({"sarif", "junit"})

Trend = list[tuple[str, int]]


def needs_rules(formats: Sequence[str]) -> bool:
    """Whether any of ``formats`` shows rule metadata (callers then load the checks)."""
    return any(f in RULE_FORMATS for f in formats)


def formats() -> tuple[str, ...]:
    """Every format ``-f`` accepts: the built-in ones, then those of reporter plugins."""
    from apigrade.plugins import reporters

    return FORMATS + tuple(sorted(reporters(FORMATS)))


def extension(fmt: str) -> str:
    """The file suffix of a format with ``--output-dir``."""
    if fmt in EXTENSIONS:
        return EXTENSIONS[fmt]
    from apigrade.plugins import reporters

    return reporters(FORMATS)[fmt].suffix


def renderer(
    fmt: str,
    *,
    fail_on: Severity | None = None,
    trend: Trend | None = None,
    rules: Sequence[RuleInfo] = (),
) -> Callable[[ScanReport], str] | None:
    """The renderer for a format, or None when this version cannot write it yet.

    ``fail_on`` is the ``--fail-on`` gate; JUnit marks findings at or above it as failures.
    ``trend`` (date, score) pairs from the history draw a score chart in HTML.
    ``rules`` (``apigrade.checks.rule_infos()``) are the SARIF rules and JUnit testcases;
    renderers never load checks themselves.
    """
    if fmt == "json":
        from apigrade.report.json import render_json

        return render_json
    if fmt == "text":
        from apigrade.report.text import render_text

        return lambda r: render_text(r, color=False)
    if fmt == "sarif":
        from apigrade.report.sarif import render_sarif

        return lambda r: render_sarif(r, rules)
    if fmt == "html":
        from apigrade.report.html import render_html

        return lambda r: render_html(r, trend=trend)
    if fmt == "markdown":
        from apigrade.report.markdown import render_markdown

        return render_markdown
    if fmt == "junit":
        from apigrade.report.junit import render_junit

        return lambda r: render_junit(r, fail_on, rules)  # None: every finding but info fails
    from apigrade.plugins import reporters

    plugin = reporters(FORMATS).get(fmt)  # apigrade.reporters entry points
    return plugin.render if plugin is not None else None
