"""Sensitive fields of decoded session cookies and tokens (values masked).

Shared by the session-contents and JWT checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from apigrade import rx
from apigrade.redact import mask

#: Secrets and credentials: always sensitive.
_SECRET = rx.compile(
    r"passw|pwd|secret|api_?key|apikey|access_?key|private|token|otp|ssn|credit|card|iban|pin$",
    rx.I,
)
#: Personal data and privileges.
_PERSONAL = rx.compile(
    r"e_?mail|phone|mobile|address|birth|dob|role|admin|staff|superuser|permission|perms|"
    r"group|privilege|salary|first_?name|last_?name|full_?name",
    rx.I,
)
#: Identifiers: only worth a low finding.
_IDENT = rx.compile(r"(^|_)(user|uid|id|username|login|sub|account|customer)($|_?id)", rx.I)
#: Framework bookkeeping that says nothing about the user.
BENIGN = frozenset(
    {
        "_fresh",
        "_id",  # Flask-Login's session identifier (a hash of IP and user agent)
        "csrf_token",
        "_csrf_token",
        "_flashes",
        "_permanent",
        "next",
        "_remember",
        "_remember_seconds",
    }
)
MAX_FIELDS = 12


@dataclass(frozen=True)
class Field:
    """One sensitive field of a decoded session or token."""

    path: str  # "user.email"
    value: str  # masked
    kind: str  # "secret" | "personal" | "id"


def classify(name: str) -> str | None:
    """'secret', 'personal', 'id' or None for a field name."""
    low = name.lower()
    if low in BENIGN or "csrf" in low:
        return None
    if _SECRET.search(low):
        return "secret"
    if _PERSONAL.search(low):
        return "personal"
    if _IDENT.search(low):
        return "id"
    return None


def _nested(value: Any) -> bool:
    """A mapping, or a list holding mappings or lists (a list of scalars is one value)."""
    if isinstance(value, list):
        return any(isinstance(v, dict | list) for v in value)
    return isinstance(value, dict)


def sensitive_fields(data: Any, prefix: str = "", depth: int = 0) -> Iterator[Field]:
    """Walk decoded JSON-like data and yield its sensitive fields, values masked."""
    if depth > 4:
        return
    if isinstance(data, dict):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if _nested(value):  # report the leaves, not the container
                yield from sensitive_fields(value, path, depth + 1)
                continue
            kind = classify(str(key))
            if kind and value not in (None, "", []):
                shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
                yield Field(path, mask(shown), kind)
    elif isinstance(data, list):
        for i, item in enumerate(data[:20]):
            yield from sensitive_fields(item, f"{prefix}[{i}]", depth + 1)


def describe(fields: list[Field]) -> str:
    """'email=a***m, role=a***n' (bounded)."""
    return ", ".join(f"{f.path}={f.value}" for f in fields[:MAX_FIELDS])
