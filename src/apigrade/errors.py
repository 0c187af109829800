"""Errors that end a command with one clear line and a contract exit code."""


class ApigradeError(Exception):
    """Base class; ``exit_code`` is the process exit status."""

    exit_code = 2


class UsageError(ApigradeError):
    """Bad URL, option or file: exit 2."""

    exit_code = 2


class TargetError(ApigradeError):
    """The target could not be scanned (unreachable, TLS failure, out of scope): exit 3."""

    exit_code = 3
