"""The command line: ``apigrade scan URL`` and friends (Typer + Rich)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console

from apigrade import __version__
from apigrade.errors import ApigradeError, UsageError
from apigrade.model import ScanReport, Severity
from apigrade.options import parse_cookie, parse_header, parse_severity
from apigrade.redact import describe_error, redact_text
from apigrade.report import FORMATS
from apigrade.report.emit import check_formats, emit
from apigrade.report.escape import one_line

Progress = Callable[[str, int, int, int], None]

app = typer.Typer(
    name="apigrade",
    help="Black-box security scanner for web APIs, best at Flask and Werkzeug.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)

FormatOpt = Annotated[str, typer.Option("-f", "--format", help="|".join(FORMATS))]
FormatsOpt = Annotated[
    list[str] | None,
    typer.Option("-f", "--format", help="|".join(FORMATS) + "; repeat with --output-dir"),
]
OutputOpt = Annotated[Path | None, typer.Option("-o", "--output", help="write the report here")]
OutputDirOpt = Annotated[
    Path | None, typer.Option("--output-dir", help="write one file per --format here")
]


def gate(report: ScanReport, fail_under: int | None, fail_on: Severity | None) -> int:
    """Exit code for the CI gates: 1 when a gate fails, else 0."""
    if fail_under is not None and report.score < fail_under:
        return 1
    if fail_on is not None and any(f.severity.rank >= fail_on.rank for f in report.findings):
        return 1
    return 0


def _run_with_progress(coro_factory: Callable[[Progress], Coroutine[Any, Any, ScanReport]]) -> ScanReport:
    """Run a scan with a live progress bar on a terminal, plain lines otherwise."""
    if err.is_terminal:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
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


@app.command()
def scan(
    url: Annotated[str, typer.Argument(help="Base URL of the target")],
    format: FormatsOpt = None,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    header: Annotated[list[str] | None, typer.Option("-H", "--header")] = None,
    cookie: Annotated[str | None, typer.Option("-b", "--cookie")] = None,
    identity: Annotated[list[str] | None, typer.Option("--identity", help="NAME:'Header: value', repeatable")] = None,
    insecure: Annotated[bool, typer.Option("-k", "--insecure")] = False,
    spec: Annotated[str | None, typer.Option("--spec")] = None,
    active: Annotated[bool, typer.Option("--active")] = False,
    wordlist: Annotated[Path | None, typer.Option("--wordlist")] = None,
    max_requests: Annotated[int, typer.Option("--max-requests", min=1)] = 800,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256)] = 10,
    rate: Annotated[float | None, typer.Option("--rate", min=0.1)] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="seconds for each whole exchange (connect, headers, body)")] = 10.0,
    scope: Annotated[list[str] | None, typer.Option("--scope", metavar="ORIGIN", help="also contact this origin (repeatable), e.g. http://HOST:80 for the cleartext-redirect check of an HTTPS target; nothing outside the target's origin is contacted otherwise")] = None,
    fail_under: Annotated[int | None, typer.Option("--fail-under", min=0, max=100)] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on")] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="keep no history")] = False,
    db: Annotated[str | None, typer.Option("--db", help="history DB URL (env APIGRADE_DB)")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", help="last|SCAN_ID")] = None,
) -> None:
    """Scan a running API or web app."""
    from apigrade.checks.authentication.identities import parse_identities
    from apigrade.engine.scanner import Scan, ScanOptions, run_scan
    from apigrade.engine.target import parse_origin
    from apigrade.localfiles import check_streamable

    formats = format or ["text"]
    check_formats(formats, output, output_dir)
    severity = parse_severity(fail_on)
    if wordlist is not None:
        check_streamable(wordlist, "wordlist")  # a regular file: /dev/zero never ends
    for origin in scope or []:
        parse_origin(origin)  # one usage line before anything is sent
    options = ScanOptions(
        headers=[parse_header(h) for h in header or []],
        cookie=parse_cookie(cookie),
        identities=parse_identities(identity),
        insecure=insecure,
        spec=spec,
        active=active,
        wordlist=str(wordlist) if wordlist else None,
        max_requests=max_requests,
        concurrency=concurrency,
        rate=rate,
        timeout=timeout,
        scope=list(scope or []),
    )
    from apigrade import cli_store  # history: --db, --no-store, --baseline (issue 5)

    started: list[Scan] = []

    def on_start(scan_: Scan) -> None:
        started.append(scan_)
        ss.on_start(scan_)

    interrupted = False
    with cli_store.scan_session(url, options, db=db, store=not no_store, baseline=baseline) as ss:
        try:
            report = _run_with_progress(
                lambda progress: run_scan(url, options, progress=progress, on_start=on_start)
            )
        except KeyboardInterrupt:
            if not started:
                raise
            interrupted = True  # Ctrl-C: keep what was found, marked incomplete
            report = ss.interrupted(started[0].partial_report())
        else:
            report = ss.finish(report)
    cli_store.emit_scan(
        report, ss.comparison, formats, output, output_dir, err, severity, ss.trend
    )
    if interrupted:
        err.print("apigrade: interrupted; the report is partial", markup=False)
        raise typer.Exit(130)
    raise typer.Exit(gate(report, fail_under, severity))


@app.command()
def checks(format: FormatOpt = "text") -> None:
    """List every check with its category, severity, CWE and OWASP id."""
    from apigrade.checks import load_checks
    from apigrade.checks.registry import REGISTRY

    load_checks()
    metas = REGISTRY.metas()
    if format == "json":
        rows = [
            {
                "id": m.id,
                "title": m.title,
                "category": m.category.value,
                "severity": m.severity.value,
                "confidence": m.confidence.value,
                "cwe": m.cwe,
                "owasp": m.owasp,
            }
            for m in metas
        ]
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if format != "text":
        raise UsageError("checks: --format is text or json")
    from rich.table import Table

    table = Table(title=f"{len(metas)} checks")
    for col in ("id", "category", "severity", "CWE", "OWASP", "title"):
        table.add_column(col)
    for m in metas:
        table.add_row(m.id, m.category.value, m.severity.value, str(m.cwe), m.owasp, m.title)
    Console(highlight=False).print(table)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the JSON report."""
    from apigrade.report.json import json_schema

    sys.stdout.write(json_schema())


@app.command()
def demo(
    format: FormatsOpt = None,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
) -> None:
    """Start the bundled, deliberately misconfigured Flask app on 127.0.0.1 and scan it."""
    from apigrade.demo.server import serve_demo
    from apigrade.engine.scanner import ScanOptions, run_scan

    formats = format or ["text"]
    check_formats(formats, output, output_dir)
    with serve_demo() as url:
        err.print(f"apigrade: demo target running at {url}", markup=False)
        report = _run_with_progress(
            lambda progress: run_scan(url, ScanOptions(), progress=progress)
        )
    emit(report, formats, output, output_dir, err)


@app.command()
def crack(
    value: Annotated[str, typer.Argument(help="a cookie (name=value) or token to crack")],
    wordlist: Annotated[Path | None, typer.Option("--wordlist", help="extra keys")] = None,
) -> None:
    """Find the weak key of a signed cookie or token offline (0 found, 1 not, 2 bad input)."""
    from apigrade.crack.command import run

    raise typer.Exit(run(value, wordlist, Console(highlight=False)))


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version")] = False,
) -> None:
    if version:
        print(f"apigrade {__version__}")
        raise typer.Exit(0)


from apigrade.cli_fleet import register as register_fleet  # noqa: E402

register_fleet(app)


from apigrade import cli_report  # noqa: E402 - the report command (issue 7)

cli_report.register(app)


from apigrade import cli_store  # noqa: E402 - history, show, diff, verify (issue 5)

cli_store.register(app)


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one clear line per error, contract exit codes."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="apigrade")
    except click.exceptions.UsageError as exc:
        print(f"apigrade: error: {one_line(redact_text(exc.format_message()))}", file=sys.stderr)
        return 2
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("apigrade: interrupted", file=sys.stderr)
        return 130
    except ApigradeError as exc:
        print(f"apigrade: error: {one_line(redact_text(str(exc)))}", file=sys.stderr)
        return exc.exit_code
    except click.exceptions.ClickException as exc:
        print(f"apigrade: error: {one_line(redact_text(exc.format_message()))}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - never a traceback on the user's screen
        # type + masked message, never the repr (it may hold a header value)
        print(f"apigrade: internal error: {describe_error(exc)}", file=sys.stderr)
        return 2
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
