"""The terminal report: grade, score, a bar per category, findings by severity."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from apigrade.model import Finding, ScanReport, Severity
from apigrade.report.escape import one_line, strip_controls

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
GRADE_STYLE = {"A": "bold green", "B": "green", "C": "yellow", "D": "red", "F": "bold red"}


def _t(value: object, limit: int = 300) -> Text:
    """Target-derived text, inert: control characters escaped, no markup parsed."""
    return Text(one_line(str(value), limit))


def _bar(score: int, width: int = 20) -> Text:
    filled = round(score / 100 * width)
    style = "green" if score >= 90 else "yellow" if score >= 70 else "red"
    return Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")


def _finding(f: Finding) -> Group:
    head = Text.assemble(
        (f" {f.severity.value.upper()} ", SEVERITY_STYLE[f.severity]),
        " ",
        (one_line(f.title, 160), "bold"),
        (f"  [{f.check_id}]", "dim"),
    )
    # Label and value columns, so wrapped values stay indented under their value.
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column()
    where = f"{f.method} {f.url}" + (f"  parameter: {f.parameter}" if f.parameter else "")
    grid.add_row("   where:", _t(where, 300))
    if f.location is not None:  # in-process: the handler's or the setting's line
        grid.add_row("   source:", _t(f"{f.location.path}:{f.location.line}", 300))
    meta = f"{f.category.value} · {f.owasp} · CWE-{f.cwe} · confidence {f.confidence.value}"
    grid.add_row("   class:", Text(meta))
    if f.evidence:
        grid.add_row("   evidence:", _t(f.evidence, 400))
    fix = strip_controls(f.remediation).strip().splitlines()
    if fix:
        grid.add_row("   fix:", Text("\n".join(fix[:12]), style="green"))
    return Group(head, grid, Text(""))


def build(report: ScanReport) -> Group:
    """The report as Rich renderables."""
    grade = Text.assemble(
        ("Grade ", "bold"),
        (report.grade, GRADE_STYLE.get(report.grade, "bold")),
        (f"   score {report.score}/100", "bold"),
    )
    fp = report.fingerprint
    info = Text.assemble(
        ("target  ", "dim"), _t(report.target, 200), "\n",
        ("server  ", "dim"), _t(fp.server or "unknown", 120), "\n",
        ("stack   ", "dim"), _t(", ".join(fp.frameworks) or "unknown", 120), "\n",
        ("scan    ", "dim"),
        f"{report.requests_sent} requests in {report.duration_s:.1f} s, "
        f"{len(report.findings)} findings",
    )  # fmt: skip
    disc = report.discovery
    if disc is not None and disc.app_routes is not None:  # an in-process (grey-box) scan
        info.append_text(Text.assemble(
            "\n", ("routes  ", "dim"),
            f"{disc.app_routes} routes from the app, {disc.discovered or 0} discovered",
        ))  # fmt: skip
    for ident in report.identities or []:  # --auth: one line each, never a secret
        info.append_text(Text.assemble(
            "\n", ("identity", "dim"), " ",
            _t(f"{ident.name} ({ident.role}): login {ident.login}, {ident.requests} requests", 160),
        ))  # fmt: skip
    cats = Table(show_header=True, header_style="bold", box=None, padding=(0, 1))
    cats.add_column("category")
    cats.add_column("score", justify="right")
    cats.add_column("")
    cats.add_column("findings", justify="right")
    for name, cs in report.categories.items():
        cats.add_row(name, str(cs.score), _bar(cs.score), str(cs.findings) if cs.findings else "")
    parts: list[object] = [Panel(Group(grade, Text(""), info), title="apigrade", expand=False)]
    parts.append(cats)
    parts.append(Text(""))
    if not report.findings:
        parts.append(Text("No findings.", style="bold green"))
    for sev in Severity:
        group = [f for f in report.findings if f.severity == sev]
        if not group:
            continue
        parts.append(Text(f"{sev.value.upper()} ({len(group)})", style=SEVERITY_STYLE[sev]))
        parts.extend(_finding(f) for f in group)
    if report.errors:
        parts.append(Text(f"{len(report.errors)} probes or checks failed:", style="dim"))
        parts.extend(Text("  " + one_line(e, 200), style="dim") for e in report.errors[:10])
    return Group(*parts)  # type: ignore[arg-type]


def render_text(report: ScanReport, *, color: bool = False, width: int = 100) -> str:
    """The terminal view as a string; without colour it carries no escape codes."""
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        color_system="truecolor" if color else None,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
    )
    console.print(build(report))
    return buf.getvalue()
