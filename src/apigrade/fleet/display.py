"""The fleet's terminal output: a progress bar (Rich on a TTY, plain lines otherwise)
and the summary table."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from apigrade.fleet.runner import FleetResult, OnDone
from apigrade.report.escape import one_line

_GRADE_STYLE = {"A": "green", "B": "green", "C": "yellow", "D": "red", "F": "bold red"}


@contextmanager
def progress(err: Console, total: int) -> Iterator[OnDone]:
    """Yields the ``on_done(index, result)`` callback that advances the display."""
    if err.is_terminal:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            TextColumn("[bold]scanning fleet"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("targets"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("fleet", total=total)

            def tick(index: int, result: FleetResult) -> None:
                bar.advance(task)

            yield tick
        return
    done = [0]

    def line(index: int, result: FleetResult) -> None:
        done[0] += 1
        what = f"grade {result.grade} ({result.score})" if result.status == "completed" else (
            f"failed: {result.error}"
        )
        print(f"apigrade: [{done[0]}/{total}] {one_line(result.target, 120)} {what}",
              file=sys.stderr, flush=True)

    yield line


def summary_table(results: list[FleetResult]) -> Table:
    """One row per target: grade, score, status or error, scan id."""
    ok = sum(r.status == "completed" for r in results)
    table = Table(title=f"{len(results)} targets, {ok} scanned, {len(results) - ok} failed")
    for col in ("target", "grade", "score", "status", "scan id"):
        table.add_column(col, overflow="fold")
    for r in results:
        grade = r.grade or "-"
        style = _GRADE_STYLE.get(grade, "")
        status = r.status if r.status == "completed" else f"failed: {r.error or ''}"
        table.add_row(  # Text(): target-supplied strings are never parsed as markup
            Text(one_line(r.target, 120)),
            Text(grade, style=style),
            Text("-" if r.score is None else str(r.score)),
            Text(one_line(status, 160)),
            Text(r.scan_id or "-"),
        )
    return table


def print_summary(results: list[FleetResult], stream: TextIO) -> None:
    """The table on ``stream`` (colour only on a terminal)."""
    width = None if stream.isatty() else 140  # files and pipes: no wrapped scan ids
    Console(file=stream, highlight=False, width=width).print(summary_table(results))
