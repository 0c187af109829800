"""Excessive data exposure: fields no client should receive, in JSON responses (CWE-213).

Passive: every JSON response of the scan (no requests). It walks the parsed body (at
most ``MAX_NODES`` nodes) and reports, once per URL path, with values masked:

* high: password hashes (Werkzeug pbkdf2/scrypt, bcrypt, argon2, crypt, Django, passlib
  and ``sha256$salt$hash`` formats), password fields with any value, API keys and secret
  fields, provider key formats (AWS, Stripe, GitHub, Slack, private keys), one-time
  tokens (reset tokens, OTPs) and other people's tokens in list responses, SSN-like
  values, card numbers that pass the Luhn check;
* medium: e-mail addresses of several people in one list response;
* low: internal flags and notes (is_admin, is_superuser, internal_notes...).

OpenAPI documents and GraphQL introspection answers are skipped (they describe fields,
they do not carry them).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from apigrade import knowledge, rx
from apigrade.checks.common.apiutil import json_body, norm_key
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import passive
from apigrade.engine.http import Exchange
from apigrade.model import Confidence, Severity
from apigrade.redact import mask

MAX_NODES = 5000
MAX_SHOWN = 5

_HASHES = (
    ("Werkzeug pbkdf2 hash", rx.compile(r"^pbkdf2:sha(?:1|224|256|384|512):\d+\$[^$\s]+\$[0-9a-f]{20,}$")),
    ("Werkzeug scrypt hash", rx.compile(r"^scrypt:\d+:\d+:\d+\$[^$\s]+\$[0-9a-f]{20,}$")),
    ("bcrypt hash", rx.compile(r"^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$")),
    ("argon2 hash", rx.compile(r"^\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$\S+$")),
    ("crypt/passlib hash", rx.compile(r"^\$(?:1|5|6|y|pbkdf2(?:-sha\d+)?|scrypt|sha1)\$\S{8,}$")),
    ("Django password hash", rx.compile(r"^(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|scrypt)\$\S{10,}$")),
    ("salted sha/md5 hash", rx.compile(r"^(?:sha1|sha256|sha512|md5)\$[^$\s]*\$[0-9a-f]{32,}$")),
)  # fmt: skip


def _key_formats() -> tuple[knowledge.SecretFormat, ...]:
    """Provider key formats: ``data/secrets.toml``, the entries for this check."""
    return knowledge.secret_formats("props.excessive-data-exposure")


_key_formats()  # read and validated at import: a bad table fails the build
PASSWORD_KEYS = frozenset({
    "password", "passwd", "pwd", "passwordhash", "hashedpassword", "passhash",
    "passwordhashed", "passworddigest", "encryptedpassword", "passwordsalt",
})  # fmt: skip
SECRET_KEYS = frozenset({
    "apikey", "apisecret", "secret", "secretkey", "clientsecret", "privatekey",
    "awssecretaccesskey", "secretaccesskey", "accesskey", "signingkey", "webhooksecret",
    "totpsecret", "mfasecret", "otpsecret",
})  # fmt: skip
ONE_TIME_KEYS = frozenset({
    "resettoken", "passwordresettoken", "resetcode", "otp", "otpcode", "verificationcode",
    "verificationtoken", "confirmationtoken", "activationtoken", "magiclinktoken",
})  # fmt: skip
TOKEN_KEYS = frozenset(
    {"token", "accesstoken", "refreshtoken", "sessiontoken", "authtoken", "sessionid"}
)
INTERNAL_KEYS = frozenset({
    "isadmin", "issuperuser", "isstaff", "internalnotes", "adminnotes", "internalcomment",
    "internalcomments", "internalid", "internal", "debuginfo", "internalstatus",
})  # fmt: skip
SSN_KEYS = frozenset({"ssn", "socialsecuritynumber", "taxid", "nationalid"})
CARD_HINT = rx.compile(r"card|pan$|^cc|ccnumber|creditcard", rx.I)
_EMAIL = rx.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,24}$")
_SSN = rx.compile(r"^(\d{3})-(\d{2})-(\d{4})$")  # area, group, serial: see _ssn
_CARD = rx.compile(r"^(?:\d[ -]?){12,18}\d$")


@dataclass(frozen=True)
class Leak:
    """One exposed field: where, what kind, how bad, the value masked."""

    where: str
    kind: str
    severity: Severity
    shown: str


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _walk(
    value: Any, where: str = "$", in_list: bool = False
) -> Iterator[tuple[str, str, Any, bool]]:
    """(path, key, value, inside a list) for every keyed scalar, breadth-limited."""
    stack = [(value, where, in_list)]
    seen = 0
    while stack and seen < MAX_NODES:
        node, path, listed = stack.pop()
        seen += 1
        if isinstance(node, dict):
            for k, v in node.items():
                sub = f"{path}.{k}"
                if isinstance(v, dict | list):
                    stack.append((v, sub, listed))
                else:
                    yield sub, str(k), v, listed
        elif isinstance(node, list):
            for i, v in enumerate(node[:500]):
                stack.append((v, f"{path}[{i}]", True))


def _string_leak(path: str, key: str, value: str, listed: bool) -> Leak | None:
    nk = norm_key(key)
    for kind, pat in _HASHES:
        if pat.match(value):
            return Leak(path, kind, Severity.HIGH, mask(value))
    for fmt in _key_formats():
        if fmt.pattern.search(value):
            return Leak(path, fmt.name, fmt.severity, mask(value[:60]))
    if nk in PASSWORD_KEYS and value.strip("*•x "):  # "********" is a placeholder
        return Leak(path, "password field", Severity.HIGH, mask(value))
    if nk in SECRET_KEYS and len(value) >= 8:
        return Leak(path, "secret or API key", Severity.HIGH, mask(value))
    if nk in ONE_TIME_KEYS and len(value) >= 4:
        return Leak(path, "one-time token or code", Severity.HIGH, mask(value))
    if nk in TOKEN_KEYS and listed and len(value) >= 8:
        return Leak(path, "token in a list of records", Severity.HIGH, mask(value))
    if _ssn(value) or (nk in SSN_KEYS and len(value) >= 6):
        return Leak(path, "SSN-like number", Severity.HIGH, mask(value))
    digits = value.replace(" ", "").replace("-", "")
    if _CARD.match(value) and luhn(digits) and (CARD_HINT.search(key) or digits != value):
        return Leak(path, "card number (Luhn valid)", Severity.HIGH, mask(digits))
    return None


def find_leaks(body: Any) -> list[Leak]:
    """Every exposed field of a JSON body."""
    leaks: list[Leak] = []
    emails: dict[str, str] = {}
    for path, key, value, listed in _walk(body):
        nk = norm_key(key)
        if isinstance(value, bool):
            if nk in INTERNAL_KEYS:
                leaks.append(Leak(path, "internal flag", Severity.LOW, str(value).lower()))
            continue
        if isinstance(value, int) and CARD_HINT.search(key) and 13 <= len(str(value)) <= 19:
            if luhn(str(value)):
                leaks.append(
                    Leak(path, "card number (Luhn valid)", Severity.HIGH, mask(str(value)))
                )
            continue
        if not isinstance(value, str) or not value:
            continue
        leak = _string_leak(path, key, value, listed)
        if leak is not None:
            leaks.append(leak)
        elif nk in INTERNAL_KEYS:
            leaks.append(Leak(path, "internal field", Severity.LOW, mask(value)))
        elif listed and _EMAIL.match(value):
            emails.setdefault(value.lower(), path)
    if len(emails) >= 2:
        shown = ", ".join(mask(e) for e in list(emails)[:3])
        leaks.append(Leak(next(iter(emails.values())), f"{len(emails)} e-mail addresses in a list",
                          Severity.MEDIUM, shown))  # fmt: skip
    return leaks


def _describes_fields(body: Any) -> bool:
    """OpenAPI documents and GraphQL introspection answers name fields, they carry none."""
    if not isinstance(body, dict):
        return False
    if ("openapi" in body or "swagger" in body) and "paths" in body:
        return True
    data = body.get("data")
    return isinstance(data, dict) and "__schema" in data


_PATH_SEP = rx.compile(r"[.\[]")


def _ssn(value: str) -> bool:
    """A US SSN's shape: no 000, 666 or 9xx area, no 00 group, no 0000 serial."""
    m = _SSN.match(value)
    if m is None:
        return False
    area, group, serial = m.groups()
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _echoed(leak: Leak, sent: str) -> bool:
    """True when the field is one the request itself carried (an echo, not a leak)."""
    key = _PATH_SEP.split(leak.where)[-1]
    return bool(sent) and (f'"{key}"' in sent or f"{key}=" in sent)


def _path_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


@passive(
    id="props.excessive-data-exposure",
    title="Response exposes sensitive fields",
    category="property-authorization",
    severity=Severity.HIGH,
    confidence=Confidence.FIRM,
    cwe=213,
    owasp="API3:2023",
)
def excessive_data(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    if exchange.status >= 400:
        return
    body = json_body(exchange)
    if body is None or _describes_fields(body):
        return
    sent = (exchange.probe.body or b"").decode("utf-8", "replace")
    leaks = [lk for lk in find_leaks(body) if not _echoed(lk, sent)]
    if not leaks:
        return
    worst = max((lk.severity for lk in leaks), key=lambda s: s.rank)
    leaks.sort(key=lambda lk: -lk.severity.rank)
    first = list({lk.kind: lk for lk in reversed(leaks)}.values())[::-1]  # one per kind
    kinds = ", ".join(lk.kind for lk in first)
    shown = "; ".join(f"{lk.where}: {lk.shown}" for lk in first[:MAX_SHOWN])
    yield Hit(
        url=_path_url(exchange.url),
        method=exchange.probe.method,
        severity=worst,
        evidence=(
            f"{exchange.probe.method} {urlsplit(exchange.url).path} -> {exchange.status}; "
            f"{kinds}: {shown}"
        ),
    )
