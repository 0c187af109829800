"""Readable client-side sessions: sensitive fields in a Flask session cookie, pickle cookies.

Flask's default session is signed, not encrypted: anyone holding the cookie can read it.
"""

from __future__ import annotations

from collections.abc import Iterator

from apigrade.checks.common.cookies import set_cookies
from apigrade.checks.common.session_fields import (  # classify: re-exported for tests
    classify,  # noqa: F401
    describe,
    sensitive_fields,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import finding_kind, passive
from apigrade.crack import SignedToken, TokenKind, looks_like_pickle, parse_token
from apigrade.engine.http import Exchange, SetCookie
from apigrade.model import Confidence, Severity

# -- the checks -------------------------------------------------------------------------

finding_kind(
    id="session.pickle-cookie",
    parent="session.readable-contents",
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
