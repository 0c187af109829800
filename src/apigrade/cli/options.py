"""The command-line options several commands share, each declared once.

An option's flags, type and limits live here; a command that words its help for its
own case passes ``help=`` (and ``metavar=``) to the factory, so every ``--help`` text
stays as it was. Aliases (``DbOpt``, ``OutputOpt``, …) are the common wordings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from apigrade.report import FORMATS

DB_HELP = "history database: SQLAlchemy URL or SQLite path (default: APIGRADE_DB, then a SQLite file in the user data folder)"
TIMEOUT_HELP = "seconds for each whole exchange (connect, headers, body)"
FORMATS_HELP = "|".join(FORMATS) + "; repeat with --output-dir"
OUTPUT_HELP = "write the report to this file (default: stdout)"
OUTPUT_DIR_HELP = "write one file per --format into this folder (apigrade.json, apigrade.sarif, …)"


def header(help: str, metavar: str | None = None) -> Any:
    """``-H/--header 'Name: value'`` (repeatable)."""
    return typer.Option("-H", "--header", metavar=metavar, help=help)


def cookie(help: str, metavar: str | None = None) -> Any:
    """``-b/--cookie 'name=value; …'``."""
    return typer.Option("-b", "--cookie", metavar=metavar, help=help)


def insecure(help: str, *, negatable: bool = False) -> Any:
    """``-k/--insecure``: no TLS certificate check (``--no-insecure`` too when negatable)."""
    return typer.Option("-k", "--insecure/--no-insecure" if negatable else "--insecure", help=help)


def timeout(help: str = TIMEOUT_HELP, metavar: str | None = None) -> Any:
    """``--timeout SECONDS`` for each whole exchange."""
    return typer.Option("--timeout", metavar=metavar, min=0.1, help=help)


def max_requests(help: str, metavar: str | None = None) -> Any:
    """``--max-requests N``: the request budget of one scan."""
    return typer.Option("--max-requests", metavar=metavar, min=1, help=help)


def concurrency(help: str, metavar: str | None = None) -> Any:
    """``--concurrency N``: requests in flight at once, per scan."""
    return typer.Option("--concurrency", metavar=metavar, min=1, max=256, help=help)


def rate(help: str, metavar: str | None = None) -> Any:
    """``--rate PER_SECOND``: most requests per second, per scan."""
    return typer.Option("--rate", metavar=metavar, min=0.1, help=help)


def active(help: str, *, negatable: bool = False) -> Any:
    """``--active``: also send state-changing requests."""
    return typer.Option("--active/--no-active" if negatable else "--active", help=help)


def spec(help: str, metavar: str | None = None) -> Any:
    """``--spec FILE|URL``: the OpenAPI or Swagger document."""
    return typer.Option("--spec", metavar=metavar, help=help)


def wordlist(help: str, metavar: str | None = None) -> Any:
    """``--wordlist FILE``: extra signing keys to try."""
    return typer.Option("--wordlist", metavar=metavar, help=help)


def identity(help: str, metavar: str | None = None) -> Any:
    """``--identity NAME:HEADER`` (repeatable)."""
    return typer.Option("--identity", metavar=metavar, help=help)


def auth(help: str, metavar: str = "FILE") -> Any:
    """``--auth FILE``: the identities file (docs/authentication.md)."""
    return typer.Option("--auth", metavar=metavar, help=help)


def scope(help: str) -> Any:
    """``--scope ORIGIN`` (repeatable): another origin a scan may contact."""
    return typer.Option("--scope", metavar="ORIGIN", help=help)


def signatures(help: str) -> Any:
    """``--signatures DIR`` (repeatable): a folder of the user's own signature files."""
    return typer.Option("--signatures", metavar="DIR", help=help)


def fail_under(help: str, metavar: str | None = None) -> Any:
    """``--fail-under SCORE``: the score gate."""
    return typer.Option("--fail-under", metavar=metavar, min=0, max=100, help=help)


def fail_on(help: str, metavar: str | None = None) -> Any:
    """``--fail-on SEVERITY``: the severity gate."""
    return typer.Option("--fail-on", metavar=metavar, help=help)


def db(help: str = DB_HELP, metavar: str | None = None) -> Any:
    """``--db URL``: the history database."""
    return typer.Option("--db", metavar=metavar, help=help)


def formats(help: str = FORMATS_HELP, metavar: str | None = None) -> Any:
    """``-f/--format`` (repeatable with ``--output-dir``)."""
    return typer.Option("-f", "--format", metavar=metavar, help=help)


def output(help: str = OUTPUT_HELP, metavar: str | None = None) -> Any:
    """``-o/--output FILE``."""
    return typer.Option("-o", "--output", metavar=metavar, help=help)


def output_dir(help: str = OUTPUT_DIR_HELP, metavar: str | None = None) -> Any:
    """``--output-dir DIR``: one file per ``--format``."""
    return typer.Option("--output-dir", metavar=metavar, help=help)


DbOpt = Annotated[str | None, db()]
FormatOpt = Annotated[str, typer.Option("-f", "--format", metavar="FORMAT", help="text (a table), json or markdown")]
FormatsOpt = Annotated[list[str] | None, formats(metavar="FORMAT")]
OutputOpt = Annotated[Path | None, output(metavar="FILE")]
OutputDirOpt = Annotated[Path | None, output_dir(metavar="DIR")]
