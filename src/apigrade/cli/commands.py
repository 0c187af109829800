"""The root command and ``scan``, ``checks``, ``schema``, ``demo``, ``crack``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import apigrade.cli.options as opt
from apigrade import __version__
from apigrade.checks import rule_infos
from apigrade.cli.options import FormatOpt, FormatsOpt, OutputDirOpt, OutputOpt
from apigrade.config import check as config_check
from apigrade.config import option_callback as config_callback
from apigrade.config import unknown_checks
from apigrade.errors import UsageError
from apigrade.model import ScanReport, Severity
from apigrade.options import parse_cookie, parse_header, parse_severity
from apigrade.progress import run_with_progress
from apigrade.report.emit import check_formats, emit

app = typer.Typer(
    name="apigrade",
    help="Black-box security scanner for web APIs, best at Flask and Werkzeug.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
err = Console(stderr=True, highlight=False)

def gate(report: ScanReport, fail_under: int | None, fail_on: Severity | None) -> int:
    """Exit code for the CI gates: 1 when a gate fails (after one line saying why), else 0."""
    from apigrade.gates import report_gate

    return report_gate(report, fail_under, fail_on)


@app.command()
def scan(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Argument(metavar="URL", help="Base URL of the target (or --app)", show_default=False)] = None,
    format: FormatsOpt = None,
    output: OutputOpt = None,
    output_dir: OutputDirOpt = None,
    header: Annotated[list[str] | None, opt.header(metavar="HEADER", help="send this header with every request, 'Name: value' (repeatable); the value is masked in every output")] = None,
    cookie: Annotated[str | None, opt.cookie(metavar="COOKIES", help="send these cookies with every request, 'name=value; name2=value2'; values are masked")] = None,
    identity: Annotated[list[str] | None, opt.identity(metavar="NAME:HEADER", help="a named user for the authorisation checks (BOLA, BFLA), NAME:'Header: value'; repeat for more users or more headers of one user")] = None,
    auth: Annotated[Path | None, opt.auth(help="identities file (TOML): users, their roles and login flows (static, form, JSON, OAuth2, command); secrets from environment variables or files (docs/authentication.md)")] = None,
    insecure: Annotated[bool, opt.insecure(negatable=True, help="do not verify the target's TLS certificate")] = False,
    spec: Annotated[str | None, opt.spec(metavar="FILE|URL", help="OpenAPI 3 or Swagger 2 document (URL or local file) listing the endpoints to test; default: look for one at well-known paths")] = None,
    active: Annotated[bool, opt.active(negatable=True, help="also send state-changing requests (POST, PUT, PATCH, DELETE: injection, login and mass-assignment probes); default: GET, HEAD and OPTIONS only")] = False,
    wordlist: Annotated[Path | None, opt.wordlist(metavar="FILE", help="file of extra candidate keys (one a line) for cracking the signed cookies and tokens the target issues")] = None,
    max_requests: Annotated[int, opt.max_requests(metavar="N", help="most requests the whole scan may send (probes, spec fetch, TLS handshakes)")] = 800,
    concurrency: Annotated[int, opt.concurrency(metavar="N", help="most requests in flight at once")] = 10,
    rate: Annotated[float | None, opt.rate(metavar="PER_SECOND", help="most requests per second (default: no limit)")] = None,
    timeout: Annotated[float, opt.timeout(metavar="SECONDS")] = 10.0,
    scope: Annotated[list[str] | None, opt.scope(help="also contact this origin (repeatable), e.g. http://HOST:80 for the cleartext-redirect check of an HTTPS target; nothing outside the target's origin is contacted otherwise")] = None,
    fail_under: Annotated[int | None, opt.fail_under(metavar="SCORE", help="gate: exit 1 when the score is below this")] = None,
    fail_on: Annotated[str | None, opt.fail_on(metavar="SEVERITY", help="gate: exit 1 when a finding is at or above this severity: critical, high, medium, low or info")] = None,
    no_store: Annotated[bool, typer.Option("--no-store/--store", help="do not store this scan in the history database")] = False,
    db: Annotated[str | None, opt.db(metavar="URL")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", metavar="last|SCAN_ID", help="compare with a stored scan: last (this target's latest complete scan) or a SCAN_ID")] = None,
    skip: Annotated[list[str] | None, typer.Option("--skip", metavar="CHECK_ID", help="do not run this check nor report findings of this kind (repeatable; ids from apigrade checks)")] = None,
    signatures: Annotated[list[Path] | None, opt.signatures(help="also run the signature files (*.toml, the schema of the built-in ones) in this folder (repeatable; docs/extending.md)")] = None,
    app_ref: Annotated[str | None, typer.Option("--app", metavar="MODULE:OBJECT", help="scan this WSGI/ASGI app object or factory in-process instead of a URL (e.g. myapp:create_app): every route and the live configuration, no socket")] = None,
    config: Annotated[Path | None, typer.Option("--config", metavar="PATH", is_eager=True, callback=config_callback, help="read settings from this TOML file instead of the nearest apigrade.toml and pyproject.toml [tool.apigrade] (docs/config.md)")] = None,
) -> None:
    """Scan a running API, or an app object in-process."""
    config_check(ctx)  # a configuration file that failed to load (docs/config.md)
    from apigrade.engine.checkset import DiscoverySettings
    from apigrade.engine.scanner import Scan, ScanOptions, run_scan
    from apigrade.engine.target import parse_origin
    from apigrade.identities import parse_identities
    from apigrade.localfiles import check_streamable

    if url is None and app_ref is None:  # a command-line error: the usage line, then this
        ctx.fail("Missing argument 'URL' (or --app MODULE:OBJECT).")
    if url is not None and app_ref is not None:
        raise UsageError("give one target: a URL or --app MODULE:OBJECT, not both")
    formats = format or ["text"]
    check_formats(formats, output, output_dir)
    severity = parse_severity(fail_on)
    if wordlist is not None:
        check_streamable(wordlist, "wordlist")  # a regular file: /dev/zero never ends
    for origin in scope or []:
        parse_origin(origin)  # one usage line before anything is sent
    if signatures:
        from apigrade.checks.plugins import use_signatures

        for folder in signatures:
            use_signatures(folder)  # before --skip, so their ids can be skipped
    unknown = unknown_checks(skip or [])
    if unknown:
        raise UsageError(f"bad --skip {unknown[0]!r}: no such check (see apigrade checks)")
    if auth is not None:
        from apigrade.auth.config import load_auth

        load_auth(auth).check_secrets()  # one usage line before anything is sent
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
        skip=list(skip or []),
        signatures=[str(folder.resolve()) for folder in signatures or []],
        auth=str(auth.expanduser().resolve()) if auth else None,
    )
    import apigrade.cli.store as cli_store  # history: --db, --no-store, --baseline

    target: object = url
    if app_ref is not None:  # in-process: imported last, after every option was checked
        from apigrade.engine.scanner import IN_PROCESS_URL
        from apigrade.inprocess.loader import load_app

        target, url = load_app(app_ref), IN_PROCESS_URL
    assert url is not None

    started: list[Scan] = []

    def on_start(scan_: Scan) -> None:
        started.append(scan_)
        ss.on_start(scan_)

    interrupted = False
    with cli_store.scan_session(url, options, db=db, store=not no_store, baseline=baseline) as ss:
        try:
            report = run_with_progress(
                lambda progress: run_scan(target, options, progress=progress, on_start=on_start,
                                          discovery=DiscoverySettings(grey_box=True))  # fmt: skip
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
    if format == "markdown":  # the check reference, docs/checks.md
        from apigrade.report.rules import render_rules_markdown

        sys.stdout.write(render_rules_markdown(rule_infos()))
        return
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
        raise UsageError("checks: --format is text, json or markdown")
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
    """Scan the bundled, deliberately misconfigured Flask demo app.

    It runs on 127.0.0.1 for the scan and is stopped afterwards; nothing is stored.
    """
    from apigrade.demo.server import serve_demo
    from apigrade.engine.scanner import ScanOptions, run_scan

    formats = format or ["text"]
    check_formats(formats, output, output_dir)
    with serve_demo() as url:
        err.print(f"apigrade: demo target running at {url}", markup=False)
        report = run_with_progress(
            lambda progress: run_scan(url, ScanOptions(), progress=progress)
        )
    emit(report, formats, output, output_dir, err, rules=rule_infos(formats))


@app.command()
def crack(
    value: Annotated[str, typer.Argument(help="a cookie (name=value) or token to crack")],
    wordlist: Annotated[Path | None, typer.Option("--wordlist", metavar="FILE", help="file of extra candidate keys, one a line (any size: it is streamed)")] = None,
) -> None:
    """Find the weak key of a signed cookie or token, offline.

    Exit 0 when the key is found, 1 when it is not, 2 on bad input.
    """
    from apigrade.crack.command import run

    raise typer.Exit(run(value, wordlist, Console(highlight=False)))


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", help="Print the version")] = False,
) -> None:
    from apigrade.cli.errors import Invocation

    Invocation.ctx = ctx  # the usage line of a parse error that carries no context
    if version:
        print(f"apigrade {__version__}")
        raise typer.Exit(0)
