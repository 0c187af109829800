"""Readable client-side sessions: sensitive fields in a Flask session cookie, pickle cookies.

Flask's default session is signed, not encrypted: anyone holding the cookie can read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from apigrade import rx
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.misconfiguration.cookie_flags import set_cookies
from apigrade.checks.registry import finding_kind, passive
from apigrade.crack import SignedToken, TokenKind, looks_like_pickle, parse_token
from apigrade.engine.http import Exchange, SetCookie
from apigrade.model import Confidence, Severity
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


# -- the checks -------------------------------------------------------------------------

finding_kind(
    id="session.pickle-cookie",
    title="Cookie carries a Python pickle",
    # Deserialisation is an injection flaw (untrusted input turned into code), not a
    # disclosure: input-validation (API8:2023) is where the contract files injections.
    category="input-validation",
    owasp="API8:2023",
    severity=Severity.CRITICAL,
    # The bytes prove the cookie is a pickle (certain); that the server unpickles what
    # comes back is inferred, not tried (we never send a pickle): firm.
    confidence=Confidence.FIRM,
    cwe=502,
    description=(
        "The server sets a cookie whose value is a pickled Python object, so it unpickles "
        "the cookie it gets back. `pickle.loads` on client data runs any code the client "
        "chooses: an unsigned pickle cookie is remote code execution for anyone, a signed "
        "one for whoever has or guesses the signing key."
    ),
    remediation=(
        "Never unpickle client data. Store a JSON-serialisable session (Flask's default "
        "`SecureCookieSessionInterface` uses tagged JSON) or keep the data on the server "
        "(Flask-Session with Redis: `SESSION_TYPE = 'redis'`, which still must not be "
        "reachable by clients). Replace `pickle.loads(b64decode(request.cookies[...]))` with "
        "`json.loads` plus an itsdangerous `URLSafeTimedSerializer(SECRET_KEY)` signature."
    ),
    references=("https://cwe.mitre.org/data/definitions/502.html",),
)

_READABLE_FIX = (
    "Keep only an opaque identifier in the client-side session and look the rest up on the "
    "server, or move sessions server-side with Flask-Session "
    "(`app.config.update(SESSION_TYPE='redis', SESSION_REDIS=redis.from_url(...)); "
    "Session(app)`): the cookie then holds a random session id only. Never put passwords, "
    "tokens or API keys in `session`."
)


def _readable(token: SignedToken | None) -> SignedToken | None:
    """A signed cookie whose payload is a readable mapping (Flask or Django session)."""
    if token is None or token.kind is TokenKind.JWT:  # JWT claims: jwt.sensitive-claims
        return None
    return token if isinstance(token.payload, dict) else None


def _pickle_hit(ctx: CheckContext, cookie: SetCookie, token: SignedToken | None) -> Hit:
    signed = token is not None
    how = f"{token.label}, signed" if token is not None else "unsigned base64"
    return Hit(
        url=ctx.target.url,
        parameter=cookie.name,
        evidence=f"cookie {cookie.name!r} ({how}) decodes to pickle bytes "
        f"(protocol opcode \\x80); value starts {cookie.value[:12]!r}",
        # signed: code execution needs the key first (see auth.weak-signing-key)
        severity=Severity.HIGH if signed else None,
        check="session.pickle-cookie",
    )


@passive(
    id="session.readable-contents",
    title="Client-side session exposes sensitive data",
    category="data-exposure",
    owasp="API3:2023",
    severity=Severity.MEDIUM,
    confidence=Confidence.CERTAIN,
    cwe=315,
    description=(
        "The session cookie is signed, not encrypted: its contents are base64 (maybe "
        "zlib-compressed) JSON that anyone holding the cookie - the user, browser "
        "extensions, a proxy log, an XSS payload - can read. It holds personal data, "
        "privileges or secrets."
    ),
    remediation=_READABLE_FIX,
    references=("https://cwe.mitre.org/data/definitions/315.html",),
)
def session_contents(exchange: Exchange, ctx: CheckContext) -> Iterator[Hit]:
    """Decode signed session cookies (once per cookie name) and pickle cookies."""
    for cookie in set_cookies(exchange):
        token = parse_token(cookie.value, name=cookie.name)
        if (token is not None and token.pickled) or (
            token is None and looks_like_pickle(cookie.value)
        ):
            yield _pickle_hit(ctx, cookie, token)
            continue
        readable = _readable(token)
        if readable is None:
            continue
        fields = list(sensitive_fields(readable.payload))
        if not fields:
            continue
        ids_only = all(f.kind == "id" for f in fields)
        yield Hit(
            url=ctx.target.url,
            parameter=cookie.name,
            evidence=f"{readable.label} {cookie.name!r} decodes to readable fields: "
            f"{describe(fields)}",
            severity=Severity.LOW if ids_only else None,
        )
