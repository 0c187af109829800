"""Progress of a command-line scan: a live bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from rich.console import Console

from apigrade.model import ScanReport

Progress = Callable[[str, int, int, int], None]

err = Console(stderr=True, highlight=False)


def run_with_progress(coro_factory: Callable[[Progress], Coroutine[Any, Any, ScanReport]]) -> ScanReport:
    """Run a scan with a live progress bar on a terminal, plain lines otherwise."""
    if sys.stderr.isatty():  # a real terminal: FORCE_COLOR colours, it draws no bar in CI logs
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        with Bar(
            TextColumn("[bold]scanning"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} checks"),
            TextColumn("{task.fields[requests]} requests"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("scan", total=None, requests=0)

            def progress(label: str, done: int, total: int, requests: int) -> None:
                bar.update(task, completed=done, total=total, requests=requests)

            return asyncio.run(coro_factory(progress))
    last = [-1]

    def plain(label: str, done: int, total: int, requests: int) -> None:
        pct = done * 100 // max(total, 1)
        if pct // 25 != last[0] // 25 or done == total:
            last[0] = pct
            print(f"apigrade: {done}/{total} checks, {requests} requests", file=sys.stderr)

    return asyncio.run(coro_factory(plain))
