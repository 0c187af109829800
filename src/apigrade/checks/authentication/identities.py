"""``--identity NAME:HEADER``: named identities for the authorisation checks."""

from __future__ import annotations

import re
from collections.abc import Iterable

from apigrade.errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_USAGE = "expected NAME:'Header: value', e.g. alice:'Authorization: Bearer …'"


def parse_identity(raw: str) -> tuple[str, tuple[str, str]]:
    """``alice:Authorization: Bearer x`` -> ("alice", ("Authorization", "Bearer x"))."""
    name, sep, header = raw.partition(":")
    name = name.strip()
    if not sep or not _NAME.match(name):
        raise UsageError(f"bad --identity: {_USAGE}")
    hname, hsep, value = header.partition(":")
    hname = hname.strip()
    if not hsep or not hname or any(c in hname for c in " \t\r\n"):
        raise UsageError(f"bad --identity for {name!r}: {_USAGE}")
    if "\r" in value or "\n" in value:
        raise UsageError(f"bad --identity for {name!r}: line breaks are not allowed in values")
    return name, (hname, value.strip())


def parse_identities(raw: Iterable[str] | None) -> dict[str, list[tuple[str, str]]]:
    """Every ``--identity``; a repeated NAME adds headers to that identity."""
    out: dict[str, list[tuple[str, str]]] = {}
    for item in raw or []:
        name, header = parse_identity(item)
        out.setdefault(name, []).append(header)
    return out
