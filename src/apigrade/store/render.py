"""Comparisons and history as text, JSON and Markdown. Target-derived text is made inert."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from itertools import groupby

from apigrade import rx
from apigrade.model import Finding
from apigrade.report.escape import one_line
from apigrade.store.compare import Comparison, ScanRef
from apigrade.store.repository import ScanRecord

COMPARISON_FORMATS = ("text", "json", "markdown")
SPARKS = "▁▂▃▄▅▆▇█"
ASCII_SPARKS = "_.-:=+*#"
_MD_SPECIAL = rx.compile(r"([\\`*_{}\[\]()#+\-!|~$])")


# -- comparisons ----------------------------------------------------------------
def comparison_json(cmp: Comparison) -> str:
    """The contract's comparison JSON."""
    return cmp.model_dump_json(indent=2) + "\n"


def _side(name: str, ref: ScanRef) -> str:
    return f"{name} {ref.scan_id or '(not stored)'}: grade {ref.grade}, score {ref.score}/100"


def _text_finding(mark: str, f: Finding) -> str:
    where = one_line(f"{f.method} {f.url}", 160)
    param = f" [{one_line(f.parameter, 60)}]" if f.parameter else ""
    return (f"  {mark} {f.severity.value.upper():<8} {one_line(f.title, 100)}  "
            f"({one_line(f.check_id, 60)}, {where}{param}, id {f.id})")  # fmt: skip


def comparison_text(cmp: Comparison, note: str | None = None) -> str:
    """A terminal view: both sides, then fixed, new and still open findings."""
    delta = f"{cmp.score_delta:+d}"
    lines = [
        _side("baseline", cmp.baseline),
        _side("current ", cmp.current),
        f"score delta {delta}, {cmp.requests_sent} requests sent",
    ]
    if note:
        lines.append(one_line(note, 500))
    for title, mark, items in (
        ("fixed", "+", cmp.fixed),
        ("new", "!", cmp.new),
        ("still open", "-", cmp.still_open),
    ):
        lines.append("")
        lines.append(f"{title} ({len(items)})" + (":" if items else ""))
        lines.extend(_text_finding(mark, f) for f in items)
    return "\n".join(lines) + "\n"


def md_escape(text: str, limit: int = 300) -> str:
    """One line of Markdown that renders as the literal text (no markup, HTML or table breaks).

    HTML's ``& < >`` become entities, Markdown punctuation is backslash-escaped.
    """
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(1), html.escape(one_line(text, limit), quote=False))


def _md_row(f: Finding) -> str:
    where = md_escape(f"{f.method} {f.url}", 200)
    if f.parameter:
        where += " (" + md_escape(f.parameter, 60) + ")"
    cells = [f.severity.value, md_escape(f.title, 120), md_escape(f.check_id, 80), where,
             md_escape(f.id, 64)]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def comparison_markdown(cmp: Comparison, note: str | None = None) -> str:
    """Markdown for a pull request comment or a ticket."""
    out = [
        "## apigrade comparison",
        "",
        "| | scan | grade | score |",
        "|---|---|---|---|",
    ]
    for name, ref in (("baseline", cmp.baseline), ("current", cmp.current)):
        sid = md_escape(ref.scan_id or "not stored", 40)
        out.append(f"| {name} | {sid} | {ref.grade} | {ref.score} |")
    out += ["", f"**Score delta:** {cmp.score_delta:+d} · **Requests sent:** {cmp.requests_sent}"]
    if note:
        out += ["", md_escape(note, 500)]
    for title, items in (("Fixed", cmp.fixed), ("New", cmp.new), ("Still open", cmp.still_open)):
        out += ["", f"### {title} ({len(items)})", ""]
        if not items:
            out.append("None.")
            continue
        out += ["| severity | finding | check | where | id |", "|---|---|---|---|---|"]
        out += [_md_row(f) for f in items]
    return "\n".join(out) + "\n"


def render_comparison(cmp: Comparison, fmt: str, note: str | None = None) -> str:
    """The comparison in ``fmt`` (text, json or markdown)."""
    if fmt == "json":
        return comparison_json(cmp)
    if fmt == "markdown":
        return comparison_markdown(cmp, note)
    return comparison_text(cmp, note)


# -- history --------------------------------------------------------------------
def sparkline(scores: Sequence[int], ascii_only: bool = False) -> str:
    """One character per score on an absolute 0-100 scale (so trends compare across targets)."""
    chars = ASCII_SPARKS if ascii_only else SPARKS
    return "".join(chars[min(len(chars) - 1, max(0, s) * len(chars) // 101)] for s in scores)


def _trend(records: list[ScanRecord], ascii_only: bool) -> str:
    scores = [r.score for r in records if r.status == "complete" and r.score is not None]
    if not scores:
        return "no complete scan yet"
    grades = [r.grade for r in records if r.status == "complete" and r.grade]
    return (f"score trend {sparkline(scores, ascii_only)}  {scores[0]} -> {scores[-1]} "
            f"(grade {grades[0]} -> {grades[-1]})")  # fmt: skip


def history_text(records: list[ScanRecord], ascii_only: bool = False) -> str:
    """Scans grouped by target, oldest first, each group with its score trend."""
    if not records:
        return "no scans stored yet\n"
    out: list[str] = []
    header = f"  {'scan id':<12}  {'started (UTC)':<19}  {'kind':<6}  {'status':<10}  grade  score  findings  requests"
    ordered_records = sorted(records, key=lambda r: (r.target, r.created_at))
    for target, group in groupby(ordered_records, key=lambda r: r.target):
        rows = list(group)
        if out:
            out.append("")
        out.append(f"{one_line(target, 200)}  {_trend(rows, ascii_only)}")
        out.append(header)
        for r in rows:
            grade = r.grade or "-"
            score = str(r.score) if r.score is not None else "-"
            started = f"{r.created_at:%Y-%m-%d %H:%M:%S}" if r.date_readable else "date unreadable"
            line = (f"  {r.scan_id:<12}  {started:<19}  {r.kind:<6}  "
                    f"{r.status:<10}  {grade:<5}  {score:>5}  {r.findings:>8}  {r.requests_sent:>8}")  # fmt: skip
            if r.error:
                line += "  " + one_line(r.error, 80)
            out.append(line)
    return "\n".join(out) + "\n"


def history_json(records: list[ScanRecord]) -> str:
    """``[{scan_id, target, kind, status, started_at, score, grade, findings, ...}]`` oldest first."""
    return json.dumps([r.to_json() for r in records], indent=2) + "\n"
