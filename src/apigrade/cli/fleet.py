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

import apigrade.cli.options as opt
from apigrade.cli.options import DbOpt
from apigrade.errors import UsageError
from apigrade.extras import require
from apigrade.options import parse_severity, write_text

if TYPE_CHECKING:
    from apigrade.scan_options import ScanOptions

err = Console(stderr=True, highlight=False)

TargetsConfigOpt = Annotated[
    Path | None, typer.Option("--targets-config", help="TOML file with per-target headers and cookies (docs/fleet.md)")
]
ParallelOpt = Annotated[int, typer.Option("--parallel", min=1, max=512, help="most scans running at once")]
PerHostOpt = Annotated[
    int, typer.Option("--per-host", min=1, max=512, help="most scans at once against one host name (all its ports)")
]
HeaderOpt = Annotated[list[str] | None, opt.header(help="send this header to every target, 'Name: value' (repeatable); masked in every output")]
CookieOpt = Annotated[str | None, opt.cookie(help="cookies for every target without its own, 'name=value; …'; masked")]
InsecureOpt = Annotated[bool, opt.insecure(help="do not verify TLS certificates")]
ActiveOpt = Annotated[
    bool, opt.active(help="also send state-changing requests (POST, PUT, PATCH, DELETE)")
]
MaxRequestsOpt = Annotated[
    int, opt.max_requests(help="most requests one scan may send")
]
ConcurrencyOpt = Annotated[
    int, opt.concurrency(help="most requests in flight at once, per scan")
]
RateOpt = Annotated[
    float | None, opt.rate(help="most requests per second, per scan (default: no limit)")
]
TimeoutOpt = Annotated[float, opt.timeout()]
SpecOpt = Annotated[
    str | None,
    opt.spec(help="OpenAPI or Swagger document for every target: URL or file "
                 "(with --broker a file must be readable on the workers at the same path)"),
]
WordlistOpt = Annotated[
    Path | None,
    opt.wordlist(help="extra signing keys to try, one a line (with --broker: "
                 "readable on the workers at the same path)"),
]
IdentityOpt = Annotated[
    list[str] | None,
    opt.identity(help="NAME:'Header: value', a second user for the "
                 "authorisation checks (repeatable); masked in every output"),
]
SignaturesOpt = Annotated[
    list[Path] | None,
    opt.signatures(help="also run the signature files (*.toml) in this folder (repeatable; "
                   "with --broker: readable on the workers at the same path)"),
]
AuthOpt = Annotated[
    Path | None,
    opt.auth(help="identities file for every target (docs/authentication.md); with --broker "
             "readable on the workers at the same path, secrets read there"),
]
ServerAuthOpt = Annotated[
    Path | None,
    opt.auth(help="identities file for every scan this server runs (docs/authentication.md), "
             "checked at start-up; secrets from this server's environment and files; API "
             "and MCP callers cannot set or change it"),
]
ScopeOpt = Annotated[
    list[str] | None,
    opt.scope(help="also contact this origin (repeatable), "
                 "e.g. http://HOST:80"),
]
AllowOpt = Annotated[
    list[str] | None,
    typer.Option("--allow", help="host pattern a scan may target: name, *.domain, name:port, CIDR, * (repeatable); default: none, every scan is refused"),
]


def _options(
    header: list[str] | None, cookie: str | None, insecure: bool, active: bool,
    max_requests: int, concurrency: int, rate: float | None, timeout: float,
) -> ScanOptions:
    from apigrade.options import parse_cookie, parse_header
    from apigrade.scan_options import ScanOptions

    return ScanOptions(
        headers=[parse_header(h) for h in header or []], cookie=parse_cookie(cookie),
        insecure=insecure, active=active, max_requests=max_requests, concurrency=concurrency,
        rate=rate, timeout=timeout,
    )


def _with_extras(
    base: ScanOptions, spec: str | None, wordlist: Path | None, identity: list[str] | None,
    scope: list[str] | None, signatures: list[Path] | None = None,
) -> ScanOptions:
    """``base`` plus the options scan-many shares with scan. Local files are checked here
    and named by absolute path (a worker's working directory is not this one)."""
    from apigrade.checks.plugins import use_signatures
    from apigrade.engine.spec_source import is_url
    from apigrade.engine.target import parse_origin
    from apigrade.identities import parse_identities
    from apigrade.localfiles import check_streamable

    if wordlist is not None:
        check_streamable(wordlist, "wordlist")  # a regular file: /dev/zero never ends
    for origin in scope or []:
        parse_origin(origin)
    if spec and not is_url(spec):
        if not Path(spec).is_file():
            raise UsageError(f"cannot read spec {spec!r}: not a file")
        spec = str(Path(spec).resolve())
    for folder in signatures or []:
        use_signatures(folder)  # a bad folder is one usage line here, before any scan
    return base.model_copy(update={
        "signatures": [str(folder.resolve()) for folder in signatures or []],
        "spec": spec, "wordlist": str(wordlist.resolve()) if wordlist else None,
        "identities": parse_identities(identity), "scope": list(scope or []),
    })


def scan_many(
    targets_file: Annotated[Path, typer.Argument(help="file of target base URLs, one a line; # starts a comment")],
    targets_config: TargetsConfigOpt = None,
    broker: Annotated[
        str | None, typer.Option("--broker", help="Celery broker URL (redis://…): enqueue the scans for `apigrade worker` processes instead of scanning here")
    ] = None,
    parallel: ParallelOpt = 4,
    per_host: PerHostOpt = 2,
    format: Annotated[str, typer.Option("-f", "--format", help="text (a table) or json (one entry per target)")] = "text",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="with --format json: write the JSON to this file (default: stdout)")] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="do not store the scans in the history database")] = False,
    db: DbOpt = None,
    header: HeaderOpt = None,
    cookie: CookieOpt = None,
    insecure: InsecureOpt = False,
    active: ActiveOpt = False,
    max_requests: MaxRequestsOpt = 800,
    concurrency: ConcurrencyOpt = 10,
    rate: RateOpt = None,
    timeout: TimeoutOpt = 10.0,
    spec: SpecOpt = None,
    wordlist: WordlistOpt = None,
    identity: IdentityOpt = None,
    auth: AuthOpt = None,
    scope: ScopeOpt = None,
    signatures: SignaturesOpt = None,
    fail_under: Annotated[int | None, opt.fail_under(help="gate: exit 1 when a target scores below this")] = None,
    fail_on: Annotated[str | None, opt.fail_on(help="gate: exit 1 when a target has a finding at or above this severity: critical, high, medium, low or info")] = None,
    fail_on_error: Annotated[
        bool, typer.Option("--fail-on-error", help="exit 3 when any target could not be scanned")
    ] = False,
    wait_timeout: Annotated[
        float | None, typer.Option("--wait-timeout", min=1, help="with --broker: stop waiting after this many seconds; late targets count as failed")
    ] = None,
) -> None:
    """Scan many targets at once, locally or through Celery workers.

    With --broker the scans are queued for `apigrade worker` processes.
    """
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
    if broker:
        require("fleet", "'apigrade scan-many --broker'")
    severity = parse_severity(fail_on)
    fleet = load_targets(targets_file, targets_config)
    base = _with_extras(
        _options(header, cookie, insecure, active, max_requests, concurrency, rate, timeout),
        spec, wordlist, identity, scope, signatures,
    )
    if auth is not None:
        from apigrade.auth.config import load_auth

        load_auth(auth)  # its schema here; its secrets where each scan runs
        base = base.model_copy(update={"auth": str(auth.expanduser().resolve())})
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
    code = gate_code(results, fail_under, severity, fail_on_error)
    if code == 1:
        from apigrade.gates import fleet_gate

        fleet_gate(results, fail_under, severity)  # one line: which target, which gate
    raise typer.Exit(code)


def worker(
    broker: Annotated[str, typer.Option("--broker", help="Celery broker URL to take scans from (redis://…)")],
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256, help="scans this worker runs at once")] = 2,
    pool: Annotated[str, typer.Option("--pool", help="Celery pool: prefork, threads or solo (each scan runs in a child process whatever the pool)")] = "prefork",
    db: DbOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Celery worker name, e.g. w1@%h (default: Celery's)")] = None,
    visibility_timeout: Annotated[
        int, typer.Option("--visibility-timeout", min=1, help="seconds after which the task of a vanished worker is handed to another worker (with Redis a running scan keeps its task however long it runs; with other brokers set it above your longest scan)")
    ] = 3600,
    loglevel: Annotated[str, typer.Option("--loglevel", help="Celery log level: DEBUG, INFO, WARNING, ERROR")] = "INFO",
    max_attempts: Annotated[
        int, typer.Option("--max-attempts", min=1, max=100, help="runs of one scan task "
                          "before it ends failed (its worker lost each time)")
    ] = 3,
) -> None:
    """Run a Celery worker that scans queued targets.

    Each scan runs in a child process; results go to the worker's history database (--db).
    """
    require("fleet", "'apigrade worker'")
    from apigrade.fleet.distributed import run_worker

    run_worker(broker, concurrency=concurrency, pool=pool, db_url=db, name=name,
               visibility_timeout=visibility_timeout, loglevel=loglevel,
               max_attempts=max_attempts)


def serve(
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="port to listen on")] = 8080,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="the key API clients and the dashboard login must give, 8 characters or more (default: APIGRADE_API_KEY, preferred: command lines are visible to other users)")
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
    auth: ServerAuthOpt = None,
) -> None:
    """Run the HTTP API and web dashboard (FastAPI).

    It scans only hosts matching --allow and needs an API key (--api-key or APIGRADE_API_KEY).
    """
    require("serve", "'apigrade serve'")
    from apigrade.service.app import ServiceSettings, run_service

    key = api_key or os.environ.get("APIGRADE_API_KEY")
    if not key:
        raise UsageError("serve needs an API key: --api-key or APIGRADE_API_KEY")
    settings = ServiceSettings.build(
        api_key=key, allow=allow or [], db_url=db, parallel=parallel,
        max_requests=max_requests, timeout=timeout, host=host, port=port,
        allowed_hosts=allowed_host or [], trust_proxy=trust_proxy or [], auth_file=auth,
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
    no_store: Annotated[bool, typer.Option("--no-store", help="do not store the scans in the history database")] = False,
    max_requests: MaxRequestsOpt = 300,
    timeout: TimeoutOpt = 10.0,
    auth: ServerAuthOpt = None,
) -> None:
    """MCP server on stdio with the tools scan, get and list."""
    require("mcp", "'apigrade mcp'")
    from apigrade.mcp_server import McpSettings, run_mcp

    run_mcp(McpSettings.build(allow=allow or [], db_url=db, store=not no_store,
                              max_requests=max_requests, timeout=timeout, auth_file=auth))


def monitor(
    targets_file: Annotated[Path, typer.Argument(help="file of target base URLs, one a line; # starts a comment")],
    every: Annotated[str, typer.Option("--every", help="time between rounds, start to start: 30m, 1h, 1h30m, 1d (at least 10s)")] = "1h",
    once: Annotated[bool, typer.Option("--once", help="scan one round, alert, then exit")] = False,
    webhook: Annotated[str | None, typer.Option("--webhook", help="URL that receives a signed JSON POST when a grade drops or a high or critical finding appears")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option("--webhook-secret", help="HMAC key of the X-Apigrade-Signature header, needed with --webhook (default: APIGRADE_WEBHOOK_SECRET)")
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
    """Re-scan targets on a schedule and alert on regressions.

    A webhook gets a signed POST when a grade drops or a new high or critical finding appears.
    """
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
