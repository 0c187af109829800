"""Masking secrets: the user's own credentials and keys found on the target."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"}
)


def mask(secret: str) -> str:
    """Keep the first and last character: 'hunter2' -> 'h*****2'."""
    if len(secret) <= 2:
        return "*" * len(secret)
    return secret[0] + "*" * min(len(secret) - 2, 12) + secret[-1]


@dataclass(frozen=True)
class Redactor:
    """Replaces every known secret value in a text by its mask."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def for_options(cls, headers: Iterable[tuple[str, str]], cookie: str | None) -> Redactor:
        values: list[str] = []
        for name, value in headers:
            if name.strip().lower() in SENSITIVE_HEADERS or "token" in name.lower():
                values.append(value.strip())
                scheme, _, cred = value.strip().partition(" ")
                if cred and scheme.lower() in ("bearer", "basic", "token", "digest"):
                    values.append(cred.strip())
        for raw in [cookie or ""] + [v for n, v in headers if n.strip().lower() == "cookie"]:
            for piece in raw.split(";"):
                _, sep, val = piece.partition("=")
                if sep and len(val.strip()) >= 4:
                    values.append(val.strip())
        uniq = sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)
        return cls(tuple(uniq))

    def text(self, text: str) -> str:
        for s in self.secrets:
            if s in text:
                text = text.replace(s, mask(s))
        return text
