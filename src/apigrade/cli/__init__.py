"""The command line: ``apigrade scan URL`` and friends (Typer + Rich).

``commands`` holds the root and the scan commands; ``fleet``, ``report`` and ``store``
add theirs; ``options`` declares the options they share; ``errors`` turns every failure
into one line and an exit code.
"""

from __future__ import annotations

from apigrade.cli import fleet, report, store
from apigrade.cli.commands import app

fleet.register(app)
report.register(app)
store.register(app)

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Console entry point: contract exit codes; an error is one line, after the command's
    usage line when Typer could not parse the command line (apigrade/cli/errors.py)."""
    from apigrade.cli.errors import Invocation, flush_stdout, handle

    Invocation.ctx = None  # set again by the root callback
    try:
        result = app(args=argv, standalone_mode=False, prog_name="apigrade")
        code = int(result) if isinstance(result, int) else 0
    except (Exception, KeyboardInterrupt) as exc:  # never a traceback on the user's screen
        code = handle(exc)
    return flush_stdout(code)

