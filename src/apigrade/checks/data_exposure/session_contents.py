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
)


#: a Django signed cookie (``signed_cookies`` session backend): the Django way out
_DJANGO_FIX = (
    "Store sessions on the server: remove `SESSION_ENGINE = "
    "'django.contrib.sessions.backends.signed_cookies'` from settings.py (the default, "
    "`django.contrib.sessions.backends.db`, or `...backends.cache` with Redis keeps only a "
    "random key in the `sessionid` cookie), then run `python manage.py migrate` for the "
    "session table. Never put passwords, tokens or personal data in `request.session` of a "
    "cookie-based session. (Flask: Flask-Session with `SESSION_TYPE = 'redis'`.)"
)

#: a Starlette/FastAPI ``SessionMiddleware`` cookie (base64 JSON, signed by itsdangerous)
_STARLETTE_FIX = (
    "Starlette's `SessionMiddleware` keeps the whole session in the cookie, signed but "
    "readable: store only an opaque id there (`request.session['sid'] = token`) and keep "
    "the data server-side (a database or Redis keyed by that id, or a server-side session "
    "library), and never put passwords, tokens or personal data in `request.session`. "
    "(Flask: Flask-Session with `SESSION_TYPE = 'redis'`.)"
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
            remediation=_DJANGO_FIX if readable.kind is TokenKind.DJANGO else (
                _STARLETTE_FIX if readable.standard_b64 else None),
        )
