"""Authentication checks: weak signing keys, JWT flaws.

This module also gathers the signed artefacts a scan saw, in any shape: cookies, tokens in
bodies (JSON fields or not), in response headers (``X-Access-Token``, ``Authorization``, ...),
in query parameters (``?token=``, ``?access_token=``, ``?jwt=``), and the user's own
credentials (``Authorization`` with or without a scheme such as ``Bearer``, custom token
headers). Each artefact keeps its place, so the checks replay a token where it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from apigrade import rx
from apigrade.checks.context import CheckContext
from apigrade.engine.http import Exchange, request_cookies

#: A whole JWS compact token: header and payload are JSON objects ("eyJ" = '{"').
JWT_RE = rx.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*")
#: A run of token characters (base64url plus the "." and ":" separators). One greedy
#: pass over the text: linear even on megabytes of "AAAA" or "eyJeyJ" (a pattern with
#: the separators inside it backtracks quadratically there).
_RUN = rx.compile(r"[A-Za-z0-9_.:-]{20,}")
MAX_TOKEN_LEN = 16 * 1024
_TEXTUAL = ("json", "html", "text", "javascript", "xml")
MAX_PER_BODY = 30
MAX_ARTEFACTS = 200


@dataclass(frozen=True)
class Artefact:
    """A token or cookie value seen during the scan, and where."""

    value: str
    #: "set-cookie" | "body" | "response-header" | "query" | "user-cookie" | "user-header"
    #: | "user-query" | "identity" | "kb"
    source: str
    name: str  # cookie, header or query parameter name, "token" for one in a body
    url: str  # where it was seen (the target URL for the user's own; no query)
    #: the Authorization scheme it came with ("Bearer", "JWT"; "" sent bare); headers only
    scheme: str = ""

    @property
    def where(self) -> str:
        """A short description for evidence: "cookie 'session' set by http://…/"."""
        return {
            "set-cookie": f"cookie {self.name!r} set by {self.url}",
            "body": f"token in the response body of {self.url}",
            "response-header": f"{self.name} response header of {self.url}",
            "query": f"query parameter {self.name!r} of {self.url}",
            "user-query": f"query parameter {self.name!r} of the target URL",
            "user-cookie": f"cookie {self.name!r} given with --cookie",
            "user-header": f"{self.name} header given with -H",
            "identity": f"{self.name} header of identity {self.url!r}",
            "kb": f"token seen at {self.url}",
        }[self.source]

    @property
    def is_jwt(self) -> bool:
        return bool(JWT_RE.fullmatch(self.value))


def user_headers(ctx: CheckContext) -> tuple[tuple[str, str], ...]:
    """The user's -H headers."""
    return tuple(ctx.user_headers)


def user_cookie_header(ctx: CheckContext) -> str:
    """The user's cookies (--cookie, or a Cookie header given with -H), as one header value."""
    parts = [ctx.user_cookie or ""]
    parts += [v for k, v in user_headers(ctx) if k.strip().lower() == "cookie"]
    return "; ".join(p for p in parts if p.strip())


def bearer_token(value: str) -> str | None:
    """The credential of an ``Authorization: Bearer X`` value."""
    scheme, _, cred = value.strip().partition(" ")
    if scheme.lower() in _SCHEMES and cred.strip():
        return cred.strip()
    return None


_SCHEMES = ("bearer", "jwt", "token")
#: header names that carry a token besides Authorization (X-Access-Token, X-Auth-Token,
#: token, X-API-Token, X-JWT, X-Session-Token, X-API-Key ...)
_TOKEN_HEADER = rx.compile(r"(?i)token|jwt|^x-auth|api-?key|^x-session")
_NOT_TOKEN_HEADERS = frozenset({"set-cookie", "www-authenticate", "cookie"})
#: query parameters that carry a token
_TOKEN_PARAMS = frozenset({
    "token", "access_token", "accesstoken", "jwt", "auth", "auth_token", "authtoken",
    "id_token", "session", "session_token", "api_key", "apikey", "key", "t",
})  # fmt: skip


_OPAQUE = rx.compile(r"[A-Za-z0-9_.:~+/=-]{16,1000}")


def looks_signed(value: str) -> bool:
    """A JWT or another signed-looking token (itsdangerous, Django) as the whole value."""
    return len(value) <= MAX_TOKEN_LEN and body_tokens(value) == [value]


def split_scheme(value: str) -> tuple[str, str]:
    """(scheme, credential) of an Authorization-style value; scheme "" when sent bare."""
    value = value.strip()
    scheme, _, cred = value.partition(" ")
    if cred.strip() and scheme.lower() in _SCHEMES:
        return scheme, cred.strip()
    return "", value


def _header_tokens(
    headers: Iterable[tuple[str, str]], *, strict: bool = False
) -> Iterator[tuple[str, str, str]]:
    """(header name, token, scheme) for Authorization (with a scheme or bare) and
    token-carrying headers; ``strict``: only values shaped like a signed token (what a
    target sends back is not always a credential)."""
    for name, value in headers:
        low = name.strip().lower()
        if low in _NOT_TOKEN_HEADERS:
            continue
        scheme, token = split_scheme(value)
        if low == "authorization":
            if scheme or looks_signed(token):  # "Basic ..." and other schemes: not a token
                yield name.strip(), token, scheme
        elif _TOKEN_HEADER.search(low) and token and (not strict or looks_signed(token)):
            yield name.strip(), token, scheme


def query_tokens(url: str) -> Iterator[tuple[str, str]]:
    """(parameter, token) of a URL's query: token-named parameters with a token-like
    value, and any parameter whose value is a signed token."""
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
        if looks_signed(value) or (name.lower() in _TOKEN_PARAMS and _OPAQUE.fullmatch(value)):
            yield name, value


def _user_artefacts(ctx: CheckContext) -> Iterator[Artefact]:
    url = ctx.target.url
    for name, value in request_cookies(user_cookie_header(ctx)).items():
        if value:
            yield Artefact(value, "user-cookie", name, url)
    for name, token, scheme in _header_tokens(user_headers(ctx)):
        yield Artefact(token, "user-header", name, url, scheme)
    for name, token in query_tokens(url):
        yield Artefact(token, "user-query", name, url.split("?", 1)[0])
    for identity, headers in ctx.identities.items():
        for name, token, scheme in _header_tokens(headers):
            yield Artefact(token, "identity", name, identity, scheme)  # url: identity's name


def body_tokens(text: str) -> list[str]:
    """JWTs and other signed-looking tokens (itsdangerous, Django) in a body, JWTs first."""
    jwts: dict[str, None] = {}
    others: dict[str, None] = {}
    for m in _RUN.finditer(text, limit=None):  # runs of token characters: linear
        token = m.group(0).lstrip(":").rstrip(".:")
        if len(token) > MAX_TOKEN_LEN or not any(sep in token for sep in ".:"):
            continue
        (jwts if JWT_RE.fullmatch(token) else others).setdefault(token)
        if len(jwts) + len(others) >= 4 * MAX_PER_BODY:
            break
    return [*jwts, *others][:MAX_PER_BODY]


def _exchange_artefacts(exchange: Exchange) -> Iterator[Artefact]:
    from apigrade.checks.common.cookies import set_cookies

    for cookie in set_cookies(exchange):
        yield Artefact(cookie.value, "set-cookie", cookie.name, exchange.url)
    resp = exchange.response
    page = exchange.url.split("#", 1)[0].split("?", 1)[0]
    if resp.status < 400:
        for name, token, scheme in _header_tokens(resp.headers, strict=True):
            yield Artefact(token, "response-header", name, page, scheme)
    if exchange.probe.method == "GET" and exchange.probe.raw_target is None:
        for name, token in query_tokens(exchange.probe.url):
            yield Artefact(token, "query", name, exchange.probe.url.split("?", 1)[0])
    if resp.status < 400 and any(t in resp.content_type for t in _TEXTUAL):
        for token in body_tokens(resp.text[:200_000]):
            yield Artefact(token, "body", "token", exchange.url.split("#", 1)[0])


#: when one value is seen in several places, the place it is used in wins over a mention
_PLACE_RANK = {"set-cookie": 1, "response-header": 2, "query": 3, "body": 4, "kb": 5}


def collect_artefacts(ctx: CheckContext) -> list[Artefact]:
    """Every distinct value the scan saw that may be a signed token, in order of first
    sighting; its place is the most telling one it was seen in (the user's own, a cookie,
    a response header, a query parameter, then a body)."""
    seen: dict[str, Artefact] = {}
    sources: list[Iterator[Artefact]] = [_user_artefacts(ctx)]
    sources += [_exchange_artefacts(ex) for ex in list(ctx.exchanges)]
    sources.append(Artefact(t, "kb", "token", w) for t, w in list(ctx.kb.tokens))
    for source in sources:
        for art in source:
            old = seen.get(art.value)
            if old is None and len(seen) < MAX_ARTEFACTS:
                seen[art.value] = art
            elif old is not None and _PLACE_RANK.get(art.source, 0) < _PLACE_RANK.get(
                old.source, 0
            ):
                seen[art.value] = art
    return list(seen.values())
