"""``--identity NAME:HEADER``: named identities for the authorisation checks."""

from __future__ import annotations

from collections.abc import Iterable

from apigrade import rx
from apigrade.errors import UsageError
from apigrade.options import parse_header

_NAME = rx.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_USAGE = "expected NAME:'Header: value', e.g. alice:'Authorization: Bearer …'"


def parse_identity(raw: str) -> tuple[str, tuple[str, str]]:
    """``alice:Authorization: Bearer x`` -> ("alice", ("Authorization", "Bearer x"))."""
    name, sep, header = raw.partition(":")
    name = name.strip()
    if not sep or not _NAME.match(name):
        raise UsageError(f"bad --identity: {_USAGE}")
    hname, hsep, _value = header.partition(":")
    if not hsep or not hname.strip():
        raise UsageError(f"bad --identity for {name!r}: {_USAGE}")
    try:  # the shared parser: validated, remembered as a secret, never echoed
        return name, parse_header(header)
    except UsageError as exc:
        raise UsageError(f"bad --identity for {name!r}: {exc}") from None


def parse_identities(raw: Iterable[str] | None) -> dict[str, list[tuple[str, str]]]:
    """Every ``--identity``; a repeated NAME adds headers to that identity."""
    out: dict[str, list[tuple[str, str]]] = {}
    for item in raw or []:
        name, header = parse_identity(item)
        out.setdefault(name, []).append(header)
    return out


# -- role labels ------------------------------------------------------------------------
#: a role label (or, without one, an identity name) of a privileged identity
PRIVILEGED = rx.compile(r"(?i)admin|root|staff|super|owner")


def role_of(name: str, roles: dict[str, str] | None = None) -> str:
    """The identity's role label: the one given (auth file), else ``admin`` for a name
    with admin, root, staff, super or owner in it, else ``user``.

    ``--identity`` has no role syntax: name an administrator ``admin``/``root`` and an
    ordinary user anything else; an auth file's ``role`` wins over the name.
    """
    given = (roles or {}).get(name, "").strip()
    if given:
        return given.lower()
    return "admin" if PRIVILEGED.search(name) else "user"


def is_privileged(name: str, roles: dict[str, str] | None = None) -> bool:
    return bool(PRIVILEGED.search(role_of(name, roles)))
