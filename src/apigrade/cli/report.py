"""``apigrade report SCAN.json``: render a saved JSON report in any format, and gate on it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

import apigrade.cli.options as opt
from apigrade.checks import rule_infos
from apigrade.errors import UsageError
from apigrade.gates import report_gate
from apigrade.localfiles import REPORT_LIMIT, read_text_limited
from apigrade.model import ScanReport, Severity
from apigrade.options import parse_severity, write_text
from apigrade.report import extension, renderer
from apigrade.report.emit import check_formats
from apigrade.report.escape import one_line


def load_report(path: str) -> ScanReport:
    """A saved JSON report, validated by the model; any problem is one UsageError line."""
    raw = read_text_limited(path, REPORT_LIMIT, "report")  # "-" is stdin; at most 20 MiB
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{path!r} is not JSON: {exc}") from None
    except RecursionError:  # e.g. 100,000 nested arrays
        raise UsageError(f"{path!r} is not an apigrade JSON report: nested too deeply") from None
    try:
        return ScanReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "report"
        raise UsageError(
            f"{path!r} is not an apigrade JSON report: {where}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else "")
        ) from None


def render(report: ScanReport, fmt: str, fail_on: Severity | None, stdout: bool = False) -> str:
    """One format; JUnit takes the --fail-on threshold. Text for ``stdout`` follows the
    terminal, NO_COLOR and FORCE_COLOR; files never carry colour codes."""
    if fmt == "junit":
        from apigrade.report.junit import render_junit

        return render_junit(report, fail_on, rule_infos([fmt]))
    from apigrade.terminal import wants_colour

    colour = stdout and wants_colour(sys.stdout)  # a terminal, NO_COLOR, FORCE_COLOR
    if fmt == "text" and (colour or (stdout and sys.stdout.isatty())):
        from apigrade.report.emit import terminal_width
        from apigrade.report.text import render_text

        return render_text(report, color=colour, width=terminal_width())
    render_fn = renderer(fmt, rules=rule_infos([fmt]))
    assert render_fn is not None  # check_formats refused formats without a renderer
    return render_fn(report)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the CLI."""

    @app.command("report")
    def report_command(
        scan_json: Annotated[
            str,
            typer.Argument(metavar="SCAN.json", help="a JSON report (--format json); - for stdin"),
        ],
        format: Annotated[list[str] | None, opt.formats()] = None,
        output: Annotated[Path | None, opt.output()] = None,
        output_dir: Annotated[Path | None, opt.output_dir()] = None,
        fail_under: Annotated[
            int | None, opt.fail_under(help="gate: exit 1 when the score is below this")
        ] = None,
        fail_on: Annotated[
            str | None,
            opt.fail_on(help="gate: exit 1 when a finding is at or above this severity (critical, high, medium, low, info); also the JUnit failure threshold"),
        ] = None,
    ) -> None:
        """Render a saved JSON report in any format, with the CI gates."""
        formats = format or ["text"]
        check_formats(formats, output, output_dir)
        severity = parse_severity(fail_on)
        report = load_report(scan_json)
        if output is None and output_dir is None:
            sys.stdout.write(render(report, formats[0], severity, stdout=True))
        else:
            written = []
            for fmt in formats:
                path = output if output is not None else output_dir / f"apigrade{extension(fmt)}"  # type: ignore[operator]
                write_text(path, render(report, fmt, severity))
                written.append(one_line(str(path)))
            print(f"apigrade: wrote {', '.join(written)}", file=sys.stderr)
        raise typer.Exit(report_gate(report, fail_under, severity))
