"""How the command line ends on an error: always one ``apigrade: error:`` line, after the
command's usage line when the command line itself could not be parsed (missing argument,
unknown command or option, a value of the wrong type or out of range). A value apigrade
checks itself (URL, --format, --fail-on, a file) names the option in its one line.

Older Typer (0.18, the oldest pyproject.toml allows) raises Click's exception classes; newer
Typer (0.29) vendors Click as ``typer._click``, with classes of the same names that Click's
``except`` clauses do not catch. Both are caught here by their base classes
(``ClickException``, ``UsageError``), found through Typer's public ``typer.BadParameter``
and, when installed, ``click`` itself.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any

import typer

from apigrade.errors import ApigradeError
from apigrade.redact import describe_error, redact_text
from apigrade.report.escape import one_line


def _bases(name: str) -> tuple[type[BaseException], ...]:
    """The classes called ``name`` among typer.BadParameter's bases and click's exceptions."""
    found: list[type[BaseException]] = [c for c in typer.BadParameter.__mro__ if c.__name__ == name]
    try:
        import click.exceptions
    except ImportError:  # newer Typer does not need click
        pass
    else:
        extra = getattr(click.exceptions, name, None)
        if isinstance(extra, type) and extra not in found:
            found.append(extra)
    return tuple(found)


CLICK_ERRORS = _bases("ClickException")  # any error Click/Typer reports itself
CLICK_USAGE = _bases("UsageError")  # a bad command line: missing/unknown/invalid parameter
_EXITS: tuple[type[BaseException], ...] = (typer.Exit, *_bases("Exit"))
_ABORTS: tuple[type[BaseException], ...] = (typer.Abort, KeyboardInterrupt, *_bases("Abort"))


class Invocation:
    """The command being run, recorded by the root callback, for the usage line."""

    ctx: Any = None  # the root click Context

    @classmethod
    def usage(cls) -> str | None:
        ctx = cls.ctx
        if ctx is None:
            return None
        name = ctx.invoked_subcommand
        command = ctx.command.get_command(ctx, name) if name else None
        if command is None:
            return str(ctx.get_usage())
        return str(type(ctx)(command, info_name=name, parent=ctx).get_usage())


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _usage_error(message: str, usage: str | None) -> int:
    if usage:
        _say(one_line(usage, 500))
    _say(f"apigrade: error: {one_line(redact_text(message), 500)}")
    return 2


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass


def _output_failed(exc: OSError) -> int | None:
    """A full disk or a closed pipe on stdout: one line (none for a closed pipe)."""
    if isinstance(exc, BrokenPipeError) or exc.errno == errno.EPIPE:
        _silence_stdout()
        return 141  # as a shell reports a reader that went away (128 + SIGPIPE)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # only writes fail so
        _silence_stdout()
        try:
            _say(f"apigrade: error: cannot write the output: {exc.strerror or 'I/O error'}")
        except OSError:
            pass
        return 2
    return None


def flush_stdout(code: int) -> int:
    """Flush stdout before exiting, so a full disk is reported here and not at exit."""
    try:
        sys.stdout.flush()
    except OSError as exc:
        failed = _output_failed(exc)
        return failed if failed is not None else handle(exc)
    return code


def handle(exc: BaseException) -> int:
    """The exit status for an exception that ended a command, after its message."""
    if isinstance(exc, _EXITS):
        return int(getattr(exc, "exit_code", 0) or 0)
    if isinstance(exc, _ABORTS):
        _say("apigrade: interrupted")
        return 130
    if isinstance(exc, CLICK_USAGE):
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())  # bare `apigrade`: the help, as with older Click
            return 0
        usage = ctx.get_usage() if ctx is not None else Invocation.usage()
        return _usage_error(exc.format_message(), usage)  # type: ignore[attr-defined]
    if isinstance(exc, ApigradeError):  # a bad value, file or target: one line naming it
        _say(f"apigrade: error: {one_line(redact_text(str(exc)), 500)}")
        return exc.exit_code
    if isinstance(exc, CLICK_ERRORS):
        _say(f"apigrade: error: {one_line(redact_text(exc.format_message()), 500)}")  # type: ignore[attr-defined]
        return 2
    if isinstance(exc, OSError):
        code = _output_failed(exc)
        if code is not None:
            return code
    if isinstance(exc, RecursionError):
        _say("apigrade: error: input nested too deeply")
        return 2
    # type + masked message, never the repr (it may hold a header value)
    _say(f"apigrade: internal error: {describe_error(exc)}")
    return 2
