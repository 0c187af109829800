"""Fleet commands: scan-many, worker, serve, mcp and monitor (``register(app)``)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from apigrade.errors import UsageError
from apigrade.options import parse_severity, write_text

if TYPE_CHECKING:
    from apigrade.engine.scanner import ScanOptions

err = Console(stderr=True, highlight=False)

TargetsConfigOpt = Annotated[
    Path | None, typer.Option("--targets-config", help="TOML file: per-target headers and cookies")
]
ParallelOpt = Annotated[int, typer.Option("--parallel", min=1, max=512, help="scans at once")]
PerHostOpt = Annotated[
    int, typer.Option("--per-host", min=1, max=512, help="scans at once per host name")
]
DbOpt = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL (default: APIGRADE_DB)")]
HeaderOpt = Annotated[list[str] | None, typer.Option("-H", "--header", help="for every target")]
CookieOpt = Annotated[str | None, typer.Option("-b", "--cookie", help="default cookie")]
InsecureOpt = Annotated[bool, typer.Option("-k", "--insecure")]
ActiveOpt = Annotated[bool, typer.Option("--active")]
MaxRequestsOpt = Annotated[int, typer.Option("--max-requests", min=1)]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", min=1, max=256)]
RateOpt = Annotated[float | None, typer.Option("--rate", min=0.1)]
TimeoutOpt = Annotated[float, typer.Option("--timeout", min=0.1)]
AllowOpt = Annotated[
    list[str] | None,
    typer.Option("--allow", help="host pattern a scan may target (repeatable); default: none"),
]


def _options(
    header: list[str] | None, cookie: str | None, insecure: bool, active: bool,
    max_requests: int, concurrency: int, rate: float | None, timeout: float,
) -> ScanOptions:
    from apigrade.engine.scanner import ScanOptions
    from apigrade.options import parse_cookie, parse_header

    return ScanOptions(
        headers=[parse_header(h) for h in header or []], cookie=parse_cookie(cookie),
        insecure=insecure, active=active, max_requests=max_requests, concurrency=concurrency,
        rate=rate, timeout=timeout,
    )


def scan_many(
    targets_file: Annotated[Path, typer.Argument(help="one URL a line; # comments")],
    targets_config: TargetsConfigOpt = None,
    broker: Annotated[
        str | None, typer.Option("--broker", help="Celery broker URL: enqueue, workers scan")
    ] = None,
    parallel: ParallelOpt = 4,
    per_host: PerHostOpt = 2,
    format: Annotated[str, typer.Option("-f", "--format", help="text|json")] = "text",
    output: Annotated[Path | None, typer.Option("-o", "--output")] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="do not store the scans")] = False,
    db: DbOpt = None,
    header: HeaderOpt = None,
    cookie: CookieOpt = None,
    insecure: InsecureOpt = False,
    active: ActiveOpt = False,
    max_requests: MaxRequestsOpt = 800,
    concurrency: ConcurrencyOpt = 10,
    rate: RateOpt = None,
    timeout: TimeoutOpt = 10.0,
    fail_under: Annotated[int | None, typer.Option("--fail-under", min=0, max=100)] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on")] = None,
    fail_on_error: Annotated[
        bool, typer.Option("--fail-on-error", help="exit 3 when any target could not be scanned")
    ] = False,
    wait_timeout: Annotated[
        float | None, typer.Option("--wait-timeout", min=1, help="with --broker: give up after S")
    ] = None,
) -> None:
    """Scan many targets at once, locally or through Celery workers (--broker)."""
    from apigrade.fleet.display import print_summary, progress
    from apigrade.fleet.runner import gate_code
    from apigrade.fleet.targets import load_targets

    if format not in ("text", "json"):
        raise UsageError(f"bad --format {format!r}: scan-many writes text or json")
    if no_store and db:
        raise UsageError("give --db or --no-store, not both")
    if broker and db:
        raise UsageError("with --broker the workers store the scans: give --db to the workers")
    if output is not None and format != "json":
        raise UsageError("--output needs --format json")
    severity = parse_severity(fail_on)
    fleet = load_targets(targets_file, targets_config)
    base = _options(header, cookie, insecure, active, max_requests, concurrency, rate, timeout)
    with progress(err, len(fleet)) as on_done:
        if broker:
            from apigrade.fleet.distributed import submit_and_wait

            results = submit_and_wait(
                broker, fleet, base, per_host=per_host, store=not no_store, on_done=on_done,
                wait_timeout=wait_timeout,
            )
        else:
            from apigrade.fleet.results import Results
            from apigrade.fleet.runner import run_fleet

            store = None if no_store else Results(db)
            results = asyncio.run(
                run_fleet(fleet, base, parallel=parallel, per_host=per_host, results=store,
                          on_done=on_done)
            )
    rows = json.dumps([r.to_json() for r in results], indent=2) + "\n"
    if format == "json":
        if output is None:
            sys.stdout.write(rows)
        else:
            write_text(output, rows)
        print_summary(results, sys.stderr)
    else:
        print_summary(results, sys.stdout)
    raise typer.Exit(gate_code(results, fail_under, severity, fail_on_error))


def worker(
    broker: Annotated[str, typer.Option("--broker", help="Celery broker URL (redis://…)")],
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256)] = 2,
    pool: Annotated[str, typer.Option("--pool", help="prefork|threads|solo")] = "prefork",
    db: DbOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="worker name, e.g. w1@%h")] = None,
    visibility_timeout: Annotated[
        int, typer.Option("--visibility-timeout", min=1, help="re-queue a lost task after S")
    ] = 3600,
    loglevel: Annotated[str, typer.Option("--loglevel")] = "INFO",
) -> None:
    """Run a Celery worker that scans queued targets and stores the results."""
    from apigrade.fleet.distributed import run_worker

    run_worker(broker, concurrency=concurrency, pool=pool, db_url=db, name=name,
               visibility_timeout=visibility_timeout, loglevel=loglevel)


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8080,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="default: APIGRADE_API_KEY")
    ] = None,
    allow: AllowOpt = None,
    db: DbOpt = None,
    parallel: ParallelOpt = 2,
    max_requests: MaxRequestsOpt = 800,
    timeout: TimeoutOpt = 10.0,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option("--allowed-host", help="Host header to answer besides the bound address "
                     "(repeatable; name, name:port, *.domain)"),
    ] = None,
    trust_proxy: Annotated[
        list[str] | None,
        typer.Option("--trust-proxy", help="IP or network of a reverse proxy whose "
                     "X-Forwarded-For/-Proto are trusted (repeatable); default: none"),
    ] = None,
) -> None:
    """HTTP API and web dashboard (FastAPI); scans only hosts matching --allow."""
    from apigrade.service.app import ServiceSettings, run_service

    key = api_key or os.environ.get("APIGRADE_API_KEY")
    if not key:
        raise UsageError("serve needs an API key: --api-key or APIGRADE_API_KEY")
    settings = ServiceSettings.build(
        api_key=key, allow=allow or [], db_url=db, parallel=parallel,
        max_requests=max_requests, timeout=timeout, host=host, port=port,
        allowed_hosts=allowed_host or [], trust_proxy=trust_proxy or [],
    )
    if not settings.allow.patterns:
        err.print("apigrade: warning: no --allow pattern, every scan request will be refused",
                  markup=False)
    shown = f"[{host}]" if ":" in host else host
    err.print(f"apigrade: serving on http://{shown}:{port}/ (dashboard and /api)", markup=False)
    err.print(f"apigrade: answering Host {settings.allowed_hosts.describe()} "
              "(more with --allowed-host)", markup=False)
    run_service(settings, host, port)


def mcp(
    allow: AllowOpt = None,
    db: DbOpt = None,
    no_store: Annotated[bool, typer.Option("--no-store")] = False,
    max_requests: MaxRequestsOpt = 300,
    timeout: TimeoutOpt = 10.0,
) -> None:
    """MCP server on stdio with the tools scan, get and list."""
    from apigrade.mcp_server import McpSettings, run_mcp

    run_mcp(McpSettings.build(allow=allow or [], db_url=db, store=not no_store,
                              max_requests=max_requests, timeout=timeout))


def monitor(
    targets_file: Annotated[Path, typer.Argument(help="one URL a line; # comments")],
    every: Annotated[str, typer.Option("--every", help="30m, 1h, 1d, 1h30m")] = "1h",
    once: Annotated[bool, typer.Option("--once", help="one round, then exit")] = False,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST alerts here")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option("--webhook-secret", help="default: APIGRADE_WEBHOOK_SECRET")
    ] = None,
    targets_config: TargetsConfigOpt = None,
    parallel: ParallelOpt = 4,
    per_host: PerHostOpt = 2,
    db: DbOpt = None,
    header: HeaderOpt = None,
    cookie: CookieOpt = None,
    insecure: InsecureOpt = False,
    max_requests: MaxRequestsOpt = 800,
    concurrency: ConcurrencyOpt = 10,
    timeout: TimeoutOpt = 10.0,
) -> None:
    """Re-scan targets on a schedule; alert a webhook when a grade drops or a new high appears."""
    from apigrade.fleet.targets import load_targets
    from apigrade.monitor import Monitor, parse_every

    interval = parse_every(every)
    secret = webhook_secret or os.environ.get("APIGRADE_WEBHOOK_SECRET")
    if webhook and not secret:
        raise UsageError("--webhook needs --webhook-secret or APIGRADE_WEBHOOK_SECRET")
    fleet = load_targets(targets_file, targets_config)
    base = _options(header, cookie, insecure, False, max_requests, concurrency, None, timeout)
    mon = Monitor(fleet, base, db_url=db, parallel=parallel, per_host=per_host,
                  webhook=webhook, secret=secret, log=lambda line: err.print(line, markup=False))
    asyncio.run(mon.run(interval, once=once))


def register(app: typer.Typer) -> None:
    """Add the fleet commands to the main Typer app."""
    app.command("scan-many")(scan_many)
    app.command("worker")(worker)
    app.command("serve")(serve)
    app.command("mcp")(mcp)
    app.command("monitor")(monitor)
