"""Markdown for pull-request comments: summary table, top findings, collapsible details.

Target text never becomes markup: inline text has HTML and Markdown specials escaped, URLs
and evidence go into code spans or fenced blocks longer than any backtick run they contain,
table cells escape pipes, ``@`` cannot mention anyone, and control characters are shown as
``\\xNN``. The first line is the marker the GitHub Action uses to update its comment in place.
"""

from __future__ import annotations

import html

from apigrade import rx
from apigrade.model import Finding, ScanReport, Severity
from apigrade.report.escape import one_line, strip_controls

MARKER = "<!-- apigrade-report -->"
TOP = 10
#: GitHub refuses comments over 65,536 characters; details stop before this.
BUDGET = 60_000
EVIDENCE_LIMIT = 1200
ICON = {
    Severity.CRITICAL: "🟥",
    Severity.HIGH: "🟧",
    Severity.MEDIUM: "🟨",
    Severity.LOW: "🟦",
    Severity.INFO: "⬜",
}

_PUNCT = frozenset("\\`*_{}[]()#+-.!|~:")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}
_WORD_JOINER = "\u2060"  # after "@": shows the same, mentions nobody
_BACKTICKS = rx.compile("`+")


def md_text(value: str, limit: int = 300) -> str:
    """Inline Markdown text: one line, every HTML and Markdown special escaped."""
    out = []
    for c in one_line(value, limit):
        if c in _HTML:
            out.append(_HTML[c])
        elif c in _PUNCT:
            out.append("\\" + c)
        elif c == "@":
            out.append("@" + _WORD_JOINER)
        else:
            out.append(c)
    return "".join(out)


def md_code(value: str, limit: int = 300, *, table: bool = False) -> str:
    """An inline code span that holds any text literally (pipes escaped inside tables)."""
    flat = one_line(value, limit)
    if not flat:
        return ""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(flat, limit=None)), default=0) + 1)
    span = f"{fence} {flat} {fence}"  # one space each side is stripped by the renderer
    return span.replace("|", "\\|") if table else span


def md_block(value: str, limit: int = EVIDENCE_LIMIT) -> str:
    """A fenced code block longer than any backtick run in the text."""
    text = strip_controls(value.replace("\r\n", "\n").replace("\r", "\n")).rstrip("\n")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    fence = "`" * max(3, max((len(run) for run in _BACKTICKS.findall(text, limit=None)), default=0) + 1)
    return f"{fence}text\n{text}\n{fence}"


def md_rich(value: str, limit: int = 2000) -> str:
    """Check prose with `code` spans kept as code, everything else escaped; lines kept."""
    lines = []
    for line in strip_controls(value).strip().splitlines()[:40]:
        parts = line.split("`")
        if len(parts) % 2 == 0:  # unbalanced backticks: all plain text
            lines.append(md_text(line, limit))
            continue
        lines.append(
            "".join(md_code(p, limit) if i % 2 else md_text(p, limit) for i, p in enumerate(parts))
        )
    return "<br>\n".join(lines)


def html_text(value: str, limit: int = 300) -> str:
    """Text for raw HTML blocks (``<summary>``), where Markdown is not parsed."""
    return html.escape(one_line(value, limit), quote=True).replace("@", "@" + _WORD_JOINER)


def ordered(report: ScanReport) -> list[Finding]:
    """Findings by severity, worst first, in scan order within a severity."""
    return sorted(report.findings, key=lambda f: -f.severity.rank)


def _summary(report: ScanReport) -> list[str]:
    counts = {s: sum(1 for f in report.findings if f.severity == s) for s in Severity}
    head = " | ".join(s.value.capitalize() for s in Severity)
    cells = " | ".join(str(counts[s]) for s in Severity)
    lines = [
        MARKER,
        f"### apigrade: grade **{md_text(report.grade)}** ({report.score}/100)",
        "",
        f"Target {md_code(report.target)} · {report.requests_sent} requests in "
        f"{report.duration_s:.1f} s · {len(report.findings)} findings",
        "",
        f"| Grade | Score | {head} |",
        "|:-:|:-:|" + ":-:|" * len(counts),
        f"| **{md_text(report.grade)}** | {report.score}/100 | {cells} |",
        "",
    ]
    if not report.complete or report.errors:
        lines += [f"⚠️ Incomplete scan: {len(report.errors)} probes or checks failed.", ""]
    lines += ["| Category | Score | Findings |", "|---|--:|--:|"]
    for name, cs in report.categories.items():
        lines.append(f"| {md_text(name, 60)} | {cs.score} | {cs.findings or ''} |")
    return lines + [""]


def _top(findings: list[Finding]) -> list[str]:
    if not findings:
        return ["**No findings.**", ""]
    lines = [f"#### Top findings ({min(TOP, len(findings))} of {len(findings)})", "",
             "| Severity | Finding | Where |", "|---|---|---|"]  # fmt: skip
    for f in findings[:TOP]:
        where = md_code(f"{f.method} {f.url}", 200, table=True)
        lines.append(
            f"| {ICON[f.severity]} {f.severity.value} | {md_text(f.title, 160)} | {where} |"
        )
    return lines + [""]


def _details(f: Finding) -> str:
    summary = html_text(f"{f.severity.value.upper()} · {f.title} · {f.method} {f.url}", 240)
    where = md_code(f"{f.method} {f.url}", 1000)
    if f.parameter:
        where += f" · parameter {md_code(f.parameter, 200)}"
    parts = [
        f"<details><summary>{ICON[f.severity]} {summary}</summary>",
        "",
        f"**Check** {md_code(f.check_id, 100)} · CWE-{f.cwe} · OWASP {md_text(f.owasp, 40)} · "
        f"{md_text(f.category.value)} · confidence {f.confidence.value}",
        "",
        f"**Where** {where}",
        "",
    ]
    if f.evidence:
        parts += ["**Evidence**", "", md_block(f.evidence), ""]
    if f.description:
        parts += [f"**Why it matters** {md_rich(f.description)}", ""]
    if f.remediation:
        parts += [f"**Fix** {md_rich(f.remediation)}", ""]
    parts += ["</details>", ""]
    return "\n".join(parts)


def render_markdown(report: ScanReport) -> str:
    """The report as GitHub-flavoured Markdown for a pull-request comment."""
    findings = ordered(report)
    out = "\n".join(_summary(report) + _top(findings))
    if findings:
        out += "\n#### Details\n\n"
    for shown, f in enumerate(findings):
        block = _details(f)
        if len(out) + len(block) > BUDGET:
            out += f"… and {len(findings) - shown} more findings: see the HTML or SARIF report.\n\n"
            break
        out += block
    out = out.rstrip("\n") + f"\n\n<sub>apigrade {md_text(report.tool.version, 40)}</sub>\n"
    return rx.replace_surrogates(out)  # undecodable target bytes cannot be written
