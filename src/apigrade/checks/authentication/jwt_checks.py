"""JWT flaws: unsigned (alg none) tokens accepted, RS/HS key confusion, no expiry, long
lifetime, readable claims.

The alg-none probe follows the contract: an unsigned copy of a JWT the scan saw is sent
to GET endpoints only, and only to endpoints that reject requests without a token. The
key-confusion probe sends a token signed with a key (the exposed public key used as an
HMAC secret), so it runs only with ``--active``.

Tokens come in any shape (``checks/authentication``: cookies, Authorization with or without
``Bearer``, custom headers such as ``X-Access-Token``, query parameters, JSON fields,
response headers) and each forged copy goes back where its token came from
(:func:`presenters`). A token read from a body has no known place: the genuine token is
tried in the usual places (Authorization with ``Bearer`` plus ``TOKEN_HEADERS``, the same
bare, then ``TOKEN_PARAMS``; one request each) and the forged copies follow the first one
the endpoint accepts. Bound: at most ``MAX_REQUESTS`` (14) GETs for alg none,
``MAX_KEY_REQUESTS`` + ``MAX_CONFUSION_REQUESTS`` for key confusion.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from apigrade.checks.authentication import (
    Artefact,
    collect_artefacts,
    user_cookie_header,
    user_headers,
)
from apigrade.checks.common.session_fields import describe, sensitive_fields
from apigrade.checks.context import CheckContext, Hit
from apigrade.checks.registry import active, finding_kind
from apigrade.engine.http import Exchange, request_cookies
from apigrade.model import Confidence, Severity

NONE_VARIANTS = ("none", "None", "NONE")
MAX_REQUESTS = 14
MAX_TOKENS = 3
MAX_URLS_PER_TOKEN = 2
MAX_LIFETIME_S = 24 * 3600
_REJECTED = (401, 403)
#: key confusion: asymmetric algorithms whose public key may serve as an HMAC secret
RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
KEY_PATHS = ("/.well-known/jwks.json", "/.well-known/openid-configuration", "/jwks.json")
MAX_KEY_REQUESTS = 3
MAX_CONFUSION_REQUESTS = 6
MAX_PUBLIC_KEYS = 8
_PEM_BEGIN = "-----BEGIN PUBLIC KEY-----"
_PEM_END = "-----END PUBLIC KEY-----"
_PEM_MAX = 4096
_API_HINTS = ("/api", "/me", "/user", "/account", "/profile", "/admin", "/v1", "/v2")

_AUTH = dict(category="authentication", owasp="API2:2023")

finding_kind(
    id="jwt.missing-exp",
    parent="jwt.alg-none",
    title="JWT without an expiry (exp claim)",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=613,
    **_AUTH,
)
finding_kind(
    id="jwt.long-lifetime",
    parent="jwt.alg-none",
    title="JWT valid for more than 24 hours",
    severity=Severity.LOW,
    confidence=Confidence.CERTAIN,
    cwe=613,
    **_AUTH,
)
finding_kind(
    id="jwt.key-confusion",
    parent="jwt.alg-none",
    title="JWT algorithm confusion: HS256 token signed with the public key accepted",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=347,
    **_AUTH,
)
finding_kind(
    id="jwt.sensitive-claims",
    parent="jwt.alg-none",
    title="JWT carries personal or sensitive claims",
    category="data-exposure",
    owasp="API3:2023",
    severity=Severity.INFO,
    confidence=Confidence.CERTAIN,
    cwe=312,
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


def hs256_copy(token: str, secret: bytes) -> str:
    """The same header (alg HS256) and payload, signed with HMAC-SHA256 under ``secret``.

    Built by hand: PyJWT refuses PEM-looking HMAC secrets.
    """
    header = jwt.get_unverified_header(token)
    header["alg"] = "HS256"
    raw = json.dumps(header, separators=(",", ":")).encode()
    signing_input = f"{jwt.utils.base64url_encode(raw).decode()}.{token.split('.')[1]}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{jwt.utils.base64url_encode(mac).decode()}"


# -- claims analysis (no requests) ------------------------------------------------------


def _place(ctx: CheckContext, art: Artefact) -> tuple[str, str]:
    """(url, parameter) of a finding about a token: stable across scans."""
    if art.source == "body":
        return art.url.split("?", 1)[0], "token"
    if art.source in ("query", "response-header"):
        return art.url, art.name
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


#: (url, token) -> the URL and request headers that carry the token
Present = Callable[[str, str], tuple[str, Headers]]
#: headers APIs read a bare token from besides Authorization (tried together, in one request)
TOKEN_HEADERS = ("X-Access-Token", "X-Auth-Token", "X-API-Token", "token")
#: query parameters APIs read a token from (tried together, in one request)
TOKEN_PARAMS = ("token", "access_token", "jwt")


def _with_query(url: str, values: dict[str, str]) -> str:
    """``url`` with these query parameters set (others kept)."""
    parts = urlsplit(url)
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    return urlunsplit(parts._replace(query=urlencode([*pairs, *values.items()])))


def presenters(ctx: CheckContext, art: Artefact) -> list[tuple[str, Present]]:
    """(label, present) ways to carry a token where ``art`` was, tried in order.

    A token keeps its place: its cookie, its header with the scheme it came with (bare or
    ``Bearer``), its query parameter. A token read from a body (a JSON field) has no place
    yet: Authorization with ``Bearer``, then bare, each with the usual custom token headers
    (``TOKEN_HEADERS``) in the same request, then the usual query parameters. Headers
    replace the user's own header of the same name (same spelling: see
    :func:`_user_header_name`); the user's other cookies stay.
    """
    if art.source in ("set-cookie", "user-cookie"):
        jar = dict(request_cookies(user_cookie_header(ctx)))
        name = _user_header_name(ctx, "cookie") or "Cookie"

        def cookie(url: str, token: str) -> tuple[str, Headers]:
            value = "; ".join(f"{k}={v}" for k, v in {**jar, art.name: token}.items())
            return url, ((name, value),)

        return [(f"cookie {art.name!r}", cookie)]

    def headers(names: tuple[str, ...], scheme: str) -> Present:
        spelled = tuple(_user_header_name(ctx, n) or n for n in names)

        def present(url: str, token: str) -> tuple[str, Headers]:
            return url, tuple(
                (n, f"{scheme} {token}" if scheme and n.lower() == "authorization" else token)
                for n in spelled
            )

        return present

    def query(names: tuple[str, ...]) -> Present:
        return lambda url, token: (_with_query(url, dict.fromkeys(names, token)), ())

    if art.source in ("query", "user-query"):
        return [(f"query parameter {art.name!r}", query((art.name,)))]
    if art.source in ("user-header", "identity", "response-header"):
        scheme = art.scheme
        label = f"{art.name} header" + (f" ({scheme} scheme)" if scheme else "")
        same = headers((art.name,), scheme) if scheme else _bare(ctx, art.name)
        if art.source != "response-header":
            return [(label, same)]
        return [(label, same), *_unplaced(headers, query)]  # issued here, maybe used elsewhere
    return _unplaced(headers, query)


def _bare(ctx: CheckContext, name: str) -> Present:
    spelled = _user_header_name(ctx, name) or name
    return lambda url, token: (url, ((spelled, token),))


def _unplaced(
    headers: Callable[[tuple[str, ...], str], Present],
    query: Callable[[tuple[str, ...]], Present],
) -> list[tuple[str, Present]]:
    """The usual places of a token whose place is unknown, each set in one request."""
    custom = ", ".join(TOKEN_HEADERS)
    params = ", ".join(f"?{p}=" for p in TOKEN_PARAMS)
    return [
        (
            f"Authorization: Bearer and {custom} headers",
            headers(("Authorization", *TOKEN_HEADERS), "Bearer"),
        ),
        (
            f"Authorization (no scheme) and {custom} headers",
            headers(("Authorization", *TOKEN_HEADERS), ""),
        ),
        (f"query parameters {params}", query(TOKEN_PARAMS)),
    ]


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
    presents: list[tuple[str, Present]],
    seen: int | None,
    forgeries: list[tuple[str, str]],
) -> str | None:
    """Evidence when the endpoint refuses no token, accepts the token and a forged copy.

    ``presents`` are the ways to carry the token, tried in order until the genuine token is
    accepted (the forged copies then go the same way); ``seen`` is the anonymous status the
    scan already got (None: ask again without token); ``forgeries`` are (description for
    the evidence, forged token), tried in order.
    """
    without = seen if seen is not None else await prober.status(url, (), anonymous=True)
    if without not in _REJECTED:
        return None
    accepted: tuple[str, Present, int] | None = None
    for label, present in presents:
        status = await prober.status(*present(url, token))
        if status is None:
            return None
        if 200 <= status < 300:
            accepted = (label, present, status)
            break
    if accepted is None:
        return None
    where, present, with_token = accepted
    for label, forged_token in forgeries:
        forged = await prober.status(*present(url, forged_token))
        if forged is not None and 200 <= forged < 300:
            return (
                f"GET {url}: without a token -> {without}; with the token in {where} -> "
                f"{with_token}; with {label} there -> {forged}"
            )
    return None


def _urls_for(ctx: CheckContext, art: Artefact, user_given: bool) -> list[tuple[str, int | None]]:
    """URLs to test a token on: where a query token was used first, then protected ones;
    the anonymous status is None when it must be asked (the user's own token is on every
    request the scan sent)."""
    urls: list[tuple[str, int | None]] = []
    if art.source in ("query", "user-query"):
        urls.append((art.url, None))
    for url, status in protected_urls(ctx, user_given):
        if url != art.url:
            urls.append((url, None if user_given else status))
    return urls[:MAX_URLS_PER_TOKEN]


async def check_alg_none(ctx: CheckContext, tokens: list[Artefact]) -> None:
    """Send unsigned copies of each JWT to endpoints that require it (bounded)."""
    prober = _Prober(ctx)
    for art in tokens[:MAX_TOKENS]:
        user_given = art.source.startswith("user-")
        presents = presenters(ctx, art)
        for url, seen in _urls_for(ctx, art, user_given):
            forgeries = [
                (f'an unsigned copy (alg "{alg}", empty signature)', unsigned_copy(art.value, alg))
                for alg in NONE_VARIANTS
            ]
            evidence = await _test_url(prober, url, art.value, presents, seen, forgeries)
            if evidence:
                ctx.report(Hit(url=url, parameter=_place(ctx, art)[1], evidence=evidence))
                return
            if prober.left <= 0:
                return


# -- RS/HS key confusion (--active only) ----------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    """An RSA public key the target exposed, and where."""

    key: RSAPublicKey
    where: str

    def secrets(self) -> list[bytes]:
        """PEM bytes a confused verifier may use as HMAC secret: with and without the
        trailing newline."""
        pem = self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return list(dict.fromkeys((pem, pem.rstrip(b"\n"))))


def _rsa_public(key: Any) -> RSAPublicKey | None:
    if isinstance(key, RSAPrivateKey):
        return key.public_key()
    return key if isinstance(key, RSAPublicKey) else None


def pem_keys(text: str, where: str) -> list[PublicKey]:
    """RSA public keys in PEM form in a body (also JSON-escaped: "\\n", "\\/")."""
    keys: list[PublicKey] = []
    start = text.find(_PEM_BEGIN)
    while start >= 0 and len(keys) < MAX_PUBLIC_KEYS:
        end = text.find(_PEM_END, start, start + _PEM_MAX)
        if end < 0:
            break
        block = text[start : end + len(_PEM_END)]
        block = block.replace("\\r", "").replace("\\n", "\n").replace("\\/", "/")
        try:
            key = _rsa_public(serialization.load_pem_public_key(block.encode()))
        except (ValueError, TypeError):
            key = None
        if key is not None:
            keys.append(PublicKey(key, where))
        start = text.find(_PEM_BEGIN, end)
    return keys


def jwks_keys(text: str, where: str) -> list[PublicKey]:
    """RSA keys of a JWKS document (``{"keys": [...]}``)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return []
    entries = doc.get("keys") if isinstance(doc, dict) else None
    keys: list[PublicKey] = []
    for jwk in entries if isinstance(entries, list) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        try:
            key = _rsa_public(jwt.algorithms.RSAAlgorithm.from_jwk(jwk))
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        if key is not None:
            keys.append(PublicKey(key, where))
        if len(keys) >= MAX_PUBLIC_KEYS:
            break
    return keys


def _path(url: str) -> str:
    return urlsplit(url).path or "/"


def _keys_in(ex: Exchange) -> list[PublicKey]:
    if not 200 <= ex.status < 300:
        return []
    text = ex.text[:200_000]
    keys = pem_keys(text, f"the PEM in {ex.url}") if _PEM_BEGIN in text else []
    if '"keys"' in text:
        keys += jwks_keys(text, f"the JWKS at {ex.url}")
    return keys


def _jwks_uri(ctx: CheckContext, ex: Exchange) -> str | None:
    """The same-origin ``jwks_uri`` of an OpenID configuration."""
    try:
        doc = json.loads(ex.text[:200_000])
    except ValueError:
        return None
    uri = doc.get("jwks_uri") if isinstance(doc, dict) else None
    if not isinstance(uri, str) or not uri.startswith(ctx.target.origin + "/"):
        return None
    return uri


async def exposed_keys(ctx: CheckContext) -> list[PublicKey]:
    """Public keys the scan saw, else from the usual JWKS places (<= 3 requests; a place
    the scan already fetched is not asked again)."""
    keys: list[PublicKey] = []
    fetched: dict[str, Exchange] = {}
    for old in list(ctx.exchanges):
        keys += _keys_in(old)
        if old.probe.method == "GET" and ctx.target.in_scope(old.probe.url):
            fetched.setdefault(_path(old.probe.url), old)
    left = MAX_KEY_REQUESTS
    queue = list(KEY_PATHS)
    while queue and not keys:
        where = queue.pop(0)
        ex = fetched.get(_path(where))
        if ex is None:
            if left <= 0:
                continue
            left -= 1
            got = await ctx.get(where)
            if got is None:
                continue
            ex = fetched[_path(where)] = got
        keys += _keys_in(ex)
        uri = _jwks_uri(ctx, ex) if where.endswith("/openid-configuration") else None
        if uri is not None and 200 <= ex.status < 300:
            queue.insert(0, uri)
    return keys[:MAX_PUBLIC_KEYS]


def signing_key(token: str, alg: str, keys: list[PublicKey]) -> PublicKey | None:
    """The exposed key that verifies the token's signature (checked locally)."""
    for key in keys:
        try:
            jwt.PyJWS().decode(token, key.key, algorithms=[alg])
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        return key
    return None


async def check_key_confusion(ctx: CheckContext, tokens: list[tuple[Artefact, str]]) -> None:
    """Send HS256 copies of RS/PS tokens, signed with the exposed public key (bounded)."""
    if not ctx.active or not tokens:
        return
    keys = await exposed_keys(ctx)
    if not keys:
        return
    prober = _Prober(ctx, MAX_CONFUSION_REQUESTS)
    for art, alg in tokens[:MAX_TOKENS]:
        key = signing_key(art.value, alg, keys)
        if key is None:
            continue
        label = (
            f"an HS256 copy (same claims) signed with the {alg} public key from {key.where} "
            "as HMAC secret"
        )
        forgeries = [(label, hs256_copy(art.value, secret)) for secret in key.secrets()]
        user_given = art.source.startswith("user-")
        presents = presenters(ctx, art)
        for url, seen in _urls_for(ctx, art, user_given):
            evidence = await _test_url(prober, url, art.value, presents, seen, forgeries)
            if evidence:
                ctx.report(
                    Hit(
                        url=url,
                        parameter=_place(ctx, art)[1],
                        evidence=evidence,
                        check="jwt.key-confusion",
                    )
                )
                return
            if prober.left <= 0:
                return


@active(
    phase=2,
    id="jwt.alg-none",
    reads=("tokens",),
    title="Unsigned JWT (alg none) accepted",
    severity=Severity.HIGH,
    confidence=Confidence.CERTAIN,
    cwe=347,
    **_AUTH,
)
async def jwt_checks(ctx: CheckContext) -> None:
    """Analyse every JWT seen, then test whether unsigned copies are accepted, and (with
    ``--active``) whether HS256 copies signed with an exposed public key are."""
    tokens: list[Artefact] = []
    rsa_tokens: list[tuple[Artefact, str]] = []
    for art in collect_artefacts(ctx):
        decoded = decode_unverified(art.value) if art.is_jwt else None
        if decoded is None:
            continue
        for hit in analyse_claims(ctx, art, decoded):
            ctx.report(hit)
        alg = str(decoded.header.get("alg", ""))
        if alg.lower() != "none":
            tokens.append(art)
        if alg in RSA_ALGS:
            rsa_tokens.append((art, alg))
    # the user's own tokens first: they are the ones the API expects
    tokens.sort(key=lambda a: 0 if a.source.startswith("user-") else 1)
    rsa_tokens.sort(key=lambda t: 0 if t[0].source.startswith("user-") else 1)
    await check_alg_none(ctx, tokens)
    await check_key_confusion(ctx, rsa_tokens)
