"""Parsing command-line values shared by every command (one-line UsageErrors)."""

from __future__ import annotations

import re
from pathlib import Path

from apigrade.errors import UsageError
from apigrade.model import Severity
from apigrade.redact import cookie_secrets, header_secrets, remember

#: An HTTP field name (RFC 9110 token).
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_TOKEN_PREFIX = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]{0,40}")
#: Longest header or cookie value accepted.
MAX_VALUE = 8192


def shown_name(name: str) -> str:
    """A header or cookie name safe to print: its leading token characters only, so a
    mistyped ``-H 'Authorization Bearer x'`` shows ``Authorization…``, not the secret."""
    head = _TOKEN_PREFIX.match(name.strip())
    shown = head.group(0) if head else ""
    return (shown or "?") + ("…" if len(shown) < len(name.strip()) else "")


def value_problem(value: str) -> str | None:
    """Why a header or cookie value cannot be sent, or None. Never quotes the value."""
    if len(value) > MAX_VALUE:
        return f"is longer than {MAX_VALUE} characters"
    if "\r" in value or "\n" in value:
        return "holds a line break (CR/LF)"
    if any(ord(c) > 127 for c in value):
        return "is not ASCII (encode it, e.g. percent- or base64-encode)"
    if any(ord(c) < 32 and c != "\t" for c in value) or "\x7f" in value:
        return "holds a control character"
    return None


def parse_header(raw: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``, validated; the value is never echoed.

    A bad name or value is a one-line :class:`UsageError` naming the header. The value
    is remembered as a secret (:mod:`apigrade.redact`) as soon as it is read.
    """
    name, sep, value = raw.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        shown = shown_name(name) if sep else "(no colon)"
        raise UsageError(f"bad header {shown}: expected 'Name: value'")
    if not _TOKEN.fullmatch(name):
        raise UsageError(
            f"bad header {shown_name(name)}: invalid name (letters, digits and "
            "!#$%&'*+-.^_`|~ only); expected 'Name: value'"
        )
    remember(header_secrets(name, value))
    problem = value_problem(value)
    if problem:
        raise UsageError(f"bad header {name}: its value {problem}; the value is not shown")
    return name, value


def parse_cookie(raw: str | None) -> str | None:
    """A ``-b`` cookie string (``name=value; name2=value2``), validated like header values;
    the error names the cookie, never its value."""
    if raw is None:
        return None
    remember(cookie_secrets(raw))
    for piece in raw.split(";"):
        name, sep, _value = piece.partition("=")
        if sep and not _TOKEN.fullmatch(name.strip()):
            raise UsageError(
                f"bad cookie {shown_name(name)}: invalid name; expected 'name=value; …'"
            )
        problem = value_problem(piece)
        if problem:
            shown = shown_name(name) if sep else "(no '=')"
            raise UsageError(f"bad cookie {shown}: its value {problem}; the value is not shown")
    problem = value_problem(raw)  # the whole string (its length)
    if problem:
        raise UsageError(f"bad cookie: the cookie string {problem}")
    return raw.strip() or None


def parse_severity(value: str | None, option: str = "--fail-on") -> Severity | None:
    """A severity name, or None; a bad one is a usage error naming the choices."""
    if value is None:
        return None
    try:
        return Severity(value.lower())
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise UsageError(f"bad {option} {value!r}: one of {choices}") from None


def write_text(path: Path, text: str) -> None:
    """Write a report file (creating its folder); a failure is one usage-error line."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
