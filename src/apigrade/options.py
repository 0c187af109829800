"""Parsing command-line values shared by every command (one-line UsageErrors)."""

from __future__ import annotations

from pathlib import Path

from apigrade.errors import UsageError
from apigrade.model import Severity


def parse_header(raw: str) -> tuple[str, str]:
    """``"Name: value"`` -> ``("Name", "value")``; the value is never echoed in the error."""
    name, sep, value = raw.partition(":")
    if not sep or not name.strip() or any(c in name for c in " \r\n\t"):
        shown = name.strip()[:40] if sep else "(no colon)"
        raise UsageError(f"bad header {shown!r}: expected 'Name: value'")
    if "\r" in value or "\n" in value:
        raise UsageError("bad header: line breaks are not allowed in values")
    return name.strip(), value.strip()


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
