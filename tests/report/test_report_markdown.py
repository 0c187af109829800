"""Markdown for pull-request comments: summary, top findings, details; target text inert."""

from __future__ import annotations

import re

from reportdata import demo_report, finding, hostile_report, make_report

from apigrade.model import Severity
from apigrade.report.markdown import (
    BUDGET,
    MARKER,
    md_block,
    md_code,
    md_text,
    render_markdown,
)


def test_summary_table_top_findings_and_details() -> None:
    report = demo_report()
    out = render_markdown(report)
    assert out.startswith(MARKER + "\n")
    assert f"grade **{report.grade}** ({report.score}/100)" in out
    counts = [sum(1 for f in report.findings if f.severity == s) for s in Severity]
    assert f"| **{report.grade}** | {report.score}/100 | " + " | ".join(map(str, counts)) in out
    for name in report.categories:
        assert f"| {md_text(name)} | {report.categories[name].score} |" in out
    assert "#### Top findings" in out
    assert out.count("<details><summary>") == len(report.findings)
    assert out.count("</details>") == len(report.findings)
    worst = max(report.findings, key=lambda f: f.severity.rank)
    assert out.index(md_text(worst.title)) < out.index("#### Details")
    assert "**Fix**" in out and "**Evidence**" in out
    assert render_markdown(report) == out


def test_no_findings() -> None:
    out = render_markdown(make_report([]))
    assert "**No findings.**" in out and "<details>" not in out


def test_escaping_helpers() -> None:
    assert md_text("<b>*x*</b> | a_b `c` [l](u) @me &amp;") == (
        "&lt;b&gt;\\*x\\*&lt;/b&gt; \\| a\\_b \\`c\\` \\[l\\]\\(u\\) @\u2060me &amp;amp;"
    )
    assert md_text("line1\nline2\x1b[31m") == "line1 line2\\\\x1b\\[31m"
    assert md_code("a ``b`` c") == "``` a ``b`` c ```"
    assert md_code("x|y", table=True) == "` x\\|y `"
    assert md_code("") == ""
    block = md_block("```\nrm -rf /\n````")
    fence = block.split("text", 1)[0]
    assert fence == "`````" and block.endswith("\n`````")


def _outside_code(text: str) -> str:
    """The Markdown with fenced blocks and code spans removed: what renders as markup."""
    text = re.sub(r"^(`{3,})text\n.*?\n\1$", "", text, flags=re.S | re.M)
    return re.sub(r"(`+) .*? \1", "", text)


def test_target_text_cannot_become_markup() -> None:
    out = render_markdown(hostile_report())
    for ch in ("\x1b", "\x07", "\x9b", "\x00", "\u202e"):
        assert ch not in out
    prose = _outside_code(out)
    tags = re.findall(r"<(/?[a-zA-Z][^ >]*)", prose)
    assert set(tags) <= {"details", "/details", "summary", "/summary", "br", "sub", "/sub"}, tags
    assert "<!--" not in prose.replace(MARKER, "")
    assert "](javascript" not in prose and "![" not in prose
    assert "@octocat" not in prose and "@\u2060octocat" in prose  # no mention (code is inert)
    # Tables: exactly the columns we made, whatever pipes the target sent.
    for line in out.splitlines():
        if line.startswith("| ") and "Severity" not in line:
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) in (5, 9), line  # 3 or 7 columns plus the two outer edges


def test_budget_keeps_comments_under_githubs_limit() -> None:
    many = [
        finding(title=f"finding {i}", url=f"http://127.0.0.1:5000/p{i}", evidence="e" * 1100)
        for i in range(200)
    ]
    out = render_markdown(make_report(many))
    assert len(out) < 65_536 and len(out) <= BUDGET + 3_000
    assert "more findings: see the HTML or SARIF report" in out


def test_rendered_by_a_commonmark_parser_only_our_tags_appear() -> None:
    from markdown_it import MarkdownIt  # a dependency of rich; CommonMark + GFM tables

    page = (
        MarkdownIt("commonmark", {"html": True})
        .enable("table")
        .render(render_markdown(hostile_report()))
    )
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9-]*)", page))
    allowed = {"h3", "h4", "p", "strong", "code", "pre", "table", "thead", "tbody", "tr", "th",
               "td", "details", "summary", "br", "sub"}  # fmt: skip
    assert tags <= allowed, tags - allowed
    assert "<a " not in page and "<img" not in page and "<script" not in page
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        assert row.count("<td") in (0, 3, 7), row  # no cell split by a target's pipe
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in page
