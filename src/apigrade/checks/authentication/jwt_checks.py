"""JWT flaws: unsigned (alg none) tokens accepted, no expiry, long lifetime, readable claims.

The alg-none probe follows the contract: an unsigned copy of a JWT the scan saw is sent
to GET endpoints only, and only to endpoints that reject requests without a token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from apigrade.checks.authentication import (
    Artefact,
    collect_artefacts,
    user_cookie_header,
    user_headers,
)
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.data_exposure.session_contents import describe, sensitive_fields
from apigrade.checks.registry import active, finding_kind
from apigrade.engine.http import Exchange, request_cookies
from apigrade.model import Confidence, Severity

NONE_VARIANTS = ("none", "None", "NONE")
MAX_REQUESTS = 10
MAX_TOKENS = 3
MAX_URLS_PER_TOKEN = 2
MAX_LIFETIME_S = 24 * 3600
_REJECTED = (401, 403)
_API_HINTS = ("/api", "/me", "/user", "/account", "/profile", "/admin", "/v1", "/v2")

_AUTH = dict(category="authentication", owasp="API2:2023")
_JWT_FIX = (
    "Give access tokens a short lifetime and always set `exp`: with PyJWT "
    "`jwt.encode({'sub': uid, 'iat': now, 'exp': now + timedelta(minutes=15)}, key, "
    "algorithm='HS256')`; with Flask-JWT-Extended `JWT_ACCESS_TOKEN_EXPIRES = "
    "timedelta(minutes=15)` plus refresh tokens."
)

finding_kind(
    id="jwt.missing-exp",
    title="JWT without an expiry (exp claim)",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=613,
    description=(
        "A JWT issued by the API carries no `exp` claim: unless the server tracks tokens, a "
        "leaked token stays valid for ever."
    ),
    remediation=_JWT_FIX + " Verify it with `jwt.decode(t, key, algorithms=['HS256'], "
    "options={'require': ['exp']})`.",
    **_AUTH,
)
finding_kind(
    id="jwt.long-lifetime",
    title="JWT valid for more than 24 hours",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=613,
    description=(
        "A JWT's `exp` lies more than 24 hours after its issue time: a stolen token can be "
        "replayed that long, and JWTs cannot be revoked without extra server state."
    ),
    remediation=_JWT_FIX,
    **_AUTH,
)
finding_kind(
    id="jwt.sensitive-claims",
    title="JWT carries personal or sensitive claims",
    category="data-exposure",
    owasp="API3:2023",
    severity=Severity.INFO,
    confidence=Confidence.CERTAIN,
    cwe=312,
    description=(
        "A JWT's payload is only base64-encoded, not encrypted: whoever holds or intercepts "
        "the token reads its claims (e-mail, role, secrets)."
    ),
    remediation=(
        "Keep only an opaque subject id (`sub`) and expiry in the token and look the rest up "
        "on the server; never put passwords or keys in claims. If claims must stay private, "
        "use an encrypted JWE."
    ),
)


@dataclass(frozen=True)
class Decoded:
    """A JWT's header and claims, read without verifying anything."""

    header: dict[str, Any]
    claims: dict[str, Any]


def decode_unverified(token: str) -> Decoded | None:
    """Header and claims of a JWT, or None when it is not one."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    if not isinstance(claims, dict):
        return None
    return Decoded(header=dict(header), claims=claims)


def unsigned_copy(token: str, alg: str) -> str:
    """The same header (alg replaced) and payload, with an empty signature."""
    header = jwt.get_unverified_header(token)
    header["alg"] = alg
    raw = json.dumps(header, separators=(",", ":")).encode()
    payload = token.split(".")[1]  # kept byte for byte: the claims stay identical
    return f"{jwt.utils.base64url_encode(raw).decode()}.{payload}."


# -- claims analysis (no requests) ------------------------------------------------------


def _place(ctx: CheckContext, art: Artefact) -> tuple[str, str]:
    """(url, parameter) of a finding about a token: stable across scans."""
    if art.source == "body":
        return art.url.split("?", 1)[0], "token"
    return ctx.target.url, art.name


def _numeric(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def analyse_claims(ctx: CheckContext, art: Artefact, decoded: Decoded) -> list[Hit]:
    """Missing exp, long lifetime and sensitive claims of one token."""
    url, param = _place(ctx, art)
    claims = decoded.claims
    hits: list[Hit] = []
    exp, iat = _numeric(claims.get("exp")), _numeric(claims.get("iat"))
    if exp is None:
        hits.append(
            Hit(
                url=url,
                parameter=param,
                check="jwt.missing-exp",
                evidence=f"{art.where}: claims {sorted(claims)[:15]} have no exp",
            )
        )
    else:
        life = exp - (iat if iat is not None else time.time())
        if life > MAX_LIFETIME_S:
            basis = "iat" if iat is not None else "the scan time"
            hits.append(
                Hit(
                    url=url,
                    parameter=param,
                    check="jwt.long-lifetime",
                    evidence=f"{art.where}: exp is {life / 3600:.0f} h after {basis}",
                )
            )
    fields = list(sensitive_fields(claims))
    if any(f.kind != "id" for f in fields):  # a bare subject id is what a JWT is for
        hits.append(
            Hit(
                url=url,
                parameter=param,
                check="jwt.sensitive-claims",
                evidence=f"{art.where}: readable claims {describe(fields)}",
            )
        )
    return hits


# -- alg none (bounded GET probes) ------------------------------------------------------

Headers = tuple[tuple[str, str], ...]


def _user_header_name(ctx: CheckContext, name: str) -> str | None:
    """The user's spelling of a header: the engine merges probe headers case-sensitively."""
    for k, _ in user_headers(ctx):
        if k.strip().lower() == name.lower():
            return k
    return None


def presenter(ctx: CheckContext, art: Artefact) -> Callable[[str], Headers]:
    """A function giving the request headers that carry a token where ``art`` was.

    They replace the user's own header of the same name (same spelling: see
    :func:`_user_header_name`); the user's other cookies stay.
    """
    if art.source in ("set-cookie", "user-cookie"):
        jar = dict(request_cookies(user_cookie_header(ctx)))
        name = _user_header_name(ctx, "cookie") or "Cookie"

        def cookie(token: str) -> Headers:
            value = "; ".join(f"{k}={v}" for k, v in {**jar, art.name: token}.items())
            return ((name, value),)

        return cookie

    user_name = _user_header_name(ctx, "authorization")
    name = art.name if art.source == "user-header" else (user_name or "Authorization")
    is_auth = name.lower() == "authorization"

    def header(token: str) -> Headers:
        return ((name, f"Bearer {token}" if is_auth else token),)

    return header


def _likely_protected(item: tuple[str, int]) -> tuple[int, int, str]:
    """API-looking paths first, then 401 (wants credentials) before 403, then by URL."""
    url, status = item
    return (0 if any(h in url.lower() for h in _API_HINTS) else 1, status != 401, url)


def _gettable(ex: Exchange) -> bool:
    probe = ex.probe
    return probe.method == "GET" and probe.raw_target is None and not probe.headers


def protected_urls(ctx: CheckContext, user_given: bool) -> list[tuple[str, int]]:
    """GET URLs worth testing, with the status the scan saw: those that refused the
    anonymous scan (401/403), or, with the user's own token (sent on every request),
    API-looking URLs that answered 2xx."""
    urls: dict[str, int] = {}
    for ex in list(ctx.exchanges):
        if not _gettable(ex) or not ctx.target.in_scope(ex.probe.url):
            continue
        if (ex.status in _REJECTED and not user_given) or (user_given and 200 <= ex.status < 300):
            urls.setdefault(ex.probe.url, ex.status)
    return sorted(urls.items(), key=_likely_protected)


class _Prober:
    """Sends GETs within the check's request bound."""

    def __init__(self, ctx: CheckContext, limit: int = MAX_REQUESTS) -> None:
        self.ctx = ctx
        self.left = limit

    async def status(self, url: str, headers: Headers, anonymous: bool = False) -> int | None:
        """Status of a GET (no redirects followed); ``anonymous``: without the user's
        own headers and cookies."""
        if self.left <= 0:
            return None
        self.left -= 1
        ex = await self.ctx.get(url, headers=headers, follow_redirects=False, anonymous=anonymous)
        return None if ex is None else ex.status


async def _test_url(
    prober: _Prober,
    url: str,
    token: str,
    present: Callable[[str], Headers],
    seen: int | None,
) -> str | None:
    """Evidence when the endpoint refuses no token, accepts the token and an unsigned copy.

    ``seen`` is the anonymous status the scan already got (None: ask again without token).
    """
    without = seen if seen is not None else await prober.status(url, (), anonymous=True)
    if without not in _REJECTED:
        return None
    with_token = await prober.status(url, present(token))
    if with_token is None or not 200 <= with_token < 300:
        return None
    for alg in NONE_VARIANTS:
        forged = await prober.status(url, present(unsigned_copy(token, alg)))
        if forged is not None and 200 <= forged < 300:
            return (
                f"GET {url}: without a token -> {without}; with the token -> {with_token}; "
                f'with an unsigned copy (alg "{alg}", empty signature) -> {forged}'
            )
    return None


async def check_alg_none(ctx: CheckContext, tokens: list[Artefact]) -> None:
    """Send unsigned copies of each JWT to endpoints that require it (bounded)."""
    prober = _Prober(ctx)
    for art in tokens[:MAX_TOKENS]:
        user_given = art.source.startswith("user-")
        urls = protected_urls(ctx, user_given)[:MAX_URLS_PER_TOKEN]
        present = presenter(ctx, art)
        for url, status in urls:
            seen = None if user_given else status
            evidence = await _test_url(prober, url, art.value, present, seen)
            if evidence:
                ctx.report(Hit(url=url, parameter=_place(ctx, art)[1], evidence=evidence))
                return
            if prober.left <= 0:
                return


@active(
    phase=2,
    id="jwt.alg-none",
    title="Unsigned JWT (alg none) accepted",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=347,
    description=(
        "An endpoint that refuses requests without a token accepted a copy of a valid JWT "
        "whose signature was removed and whose header says `alg: none`. Anyone can then "
        "write their own token with any identity or role."
    ),
    remediation=(
        "Verify every token with a fixed list of algorithms: PyJWT "
        "`jwt.decode(token, key, algorithms=['HS256'])` (never "
        "`options={'verify_signature': False}` and never `algorithms` taken from the token); "
        "Flask-JWT-Extended does this for you with `JWT_ALGORITHM = 'HS256'`."
    ),
    references=("https://cwe.mitre.org/data/definitions/347.html",),
    **_AUTH,
)
async def jwt_checks(ctx: CheckContext) -> None:
    """Analyse every JWT seen, then test whether unsigned copies are accepted."""
    tokens: list[Artefact] = []
    for art in collect_artefacts(ctx):
        decoded = decode_unverified(art.value) if art.is_jwt else None
        if decoded is None:
            continue
        for hit in analyse_claims(ctx, art, decoded):
            ctx.report(hit)
        if str(decoded.header.get("alg", "")).lower() != "none":
            tokens.append(art)
    # the user's own tokens first: they are the ones the API expects
    tokens.sort(key=lambda a: 0 if a.source.startswith("user-") else 1)
    await check_alg_none(ctx, tokens)
