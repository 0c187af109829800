"""Writing a report in one or more formats to stdout, a file or a directory."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from apigrade.errors import UsageError
from apigrade.model import RuleInfo, ScanReport, Severity
from apigrade.options import write_text
from apigrade.report import Trend, extension, formats, renderer
from apigrade.report.escape import one_line


def check_formats(chosen: list[str], output: Path | None, output_dir: Path | None) -> None:
    """Validate a format selection before any scanning starts."""
    known = formats()  # built-in and plugin formats
    for fmt in chosen:
        if fmt not in known:
            raise UsageError(f"bad --format {fmt!r}: one of {', '.join(known)}")
        if renderer(fmt) is None:
            raise UsageError(f"format {fmt!r} is not available in this version")
    if len(chosen) > 1 and output_dir is None:
        raise UsageError("several --format values need --output-dir")
    if output is not None and output_dir is not None:
        raise UsageError("give --output or --output-dir, not both")


def terminal_width() -> int:
    return max(80, min(140, shutil.get_terminal_size((100, 24)).columns))


def emit(
    report: ScanReport,
    formats: list[str],
    output: Path | None = None,
    output_dir: Path | None = None,
    err: Console | None = None,
    fail_on: Severity | None = None,
    trend: Trend | None = None,
    rules: Sequence[RuleInfo] = (),
) -> list[Path]:
    """Write the report; a summary line goes to stderr whenever files are written.
    ``rules`` (``apigrade.checks.rule_infos()``) go to the SARIF and JUnit renderers."""
    check_formats(formats, output, output_dir)
    written: list[Path] = []
    if output is None and output_dir is None:
        fmt = formats[0]
        if fmt == "text":
            from apigrade.report.text import render_text
            from apigrade.terminal import wants_colour

            color = wants_colour(sys.stdout)  # a terminal, NO_COLOR, FORCE_COLOR
            sys.stdout.write(render_text(report, color=color, width=terminal_width()))
        else:
            render = renderer(fmt, fail_on=fail_on, trend=trend, rules=rules)
            assert render is not None
            sys.stdout.write(render(report))
        return written
    for fmt in formats:
        render = renderer(fmt, fail_on=fail_on, trend=trend, rules=rules)
        assert render is not None
        path = output if output is not None else output_dir / f"apigrade{extension(fmt)}"  # type: ignore[operator]
        write_text(path, render(report))
        written.append(path)
    (err or Console(stderr=True)).print(
        f"apigrade: grade {report.grade}, score {report.score}/100, "
        f"{len(report.findings)} findings; wrote {', '.join(one_line(str(p)) for p in written)}",
        markup=False,
        highlight=False,
    )
    return written
